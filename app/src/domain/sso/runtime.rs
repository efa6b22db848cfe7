//! What SSO needs at run time: the sealing keys, an HTTP client for talking
//! to identity providers, and a DNS resolver for domain verification.
//!
//! Outside development and test the HTTP client only speaks https and never
//! connects to loopback, private, link-local or otherwise non-public
//! addresses — an organization's admin chooses the issuer URL, so without
//! this they could make the server fetch internal services (SSRF). It never
//! follows redirects, and every request times out.

use super::crypto::SecretKeys;
use hickory_resolver::{
    TokioResolver,
    config::{NameServerConfig, ResolverConfig},
    net::runtime::TokioRuntimeProvider,
};
use openidconnect::{AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse, reqwest};
use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
    time::Duration,
};

/// SSO's runtime dependencies, shared by every request.
#[derive(Clone)]
pub struct SsoRuntime {
    pub keys: SecretKeys,
    pub http: SafeHttp,
    pub dns: Arc<TokioResolver>,
}

impl std::fmt::Debug for SsoRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoRuntime")
            .field("keys", &self.keys)
            .field("allow_insecure", &self.http.allow_insecure)
            .finish()
    }
}

/// Which DNS server answers domain-verification look-ups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsServer {
    /// The machine's resolver (/etc/resolv.conf).
    System,
    /// One server, by address (tests run their own).
    At(SocketAddr),
}

impl SsoRuntime {
    /// `allow_insecure` permits http issuers and private addresses: for
    /// development and tests, never production.
    pub fn new(keys: SecretKeys, dns: DnsServer, allow_insecure: bool) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .user_agent("Trellis SSO")
            // Never through a proxy named in the environment: it would see
            // every token exchange and reach what the address filter refuses.
            .no_proxy();
        if !allow_insecure {
            builder = builder.dns_resolver(Arc::new(PublicAddressesOnly));
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        let mut resolver = match dns {
            DnsServer::System => TokioResolver::builder_tokio().map_err(|e| e.to_string())?,
            DnsServer::At(addr) => {
                let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                for connection in &mut server.connections {
                    connection.port = addr.port();
                }
                TokioResolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![server]),
                    TokioRuntimeProvider::default(),
                )
            }
        };
        // "Check now" must see a record published a moment ago: no cache.
        resolver.options_mut().cache_size = 0;
        let resolver = resolver.build().map_err(|e| e.to_string())?;
        Ok(Self {
            keys,
            http: SafeHttp {
                client,
                allow_insecure,
            },
            dns: Arc::new(resolver),
        })
    }

    pub fn allow_insecure(&self) -> bool {
        self.http.allow_insecure
    }
}

/// The HTTP client given to openidconnect: every request it makes
/// (discovery, keys, token exchange) passes [`SafeHttp::check`] first.
#[derive(Clone)]
pub struct SafeHttp {
    client: reqwest::Client,
    allow_insecure: bool,
}

impl SafeHttp {
    /// Refuses what production must not fetch: plain http, and hosts given
    /// as non-public IP addresses (names are filtered by the resolver).
    pub fn check(&self, url: &str) -> Result<(), String> {
        if self.allow_insecure {
            return Ok(());
        }
        let parsed = reqwest::Url::parse(url).map_err(|_| format!("{url} is not a valid URL"))?;
        if parsed.scheme() != "https" {
            return Err(format!("{url} does not use https"));
        }
        let literal = match parsed.host() {
            Some(openidconnect::url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(openidconnect::url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if literal.is_some_and(|ip| !is_public(ip)) {
            return Err(format!("{url} points at a private or local address"));
        }
        Ok(())
    }
}

impl<'c> AsyncHttpClient<'c> for SafeHttp {
    type Error = HttpClientError<reqwest::Error>;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            self.check(&request.uri().to_string())
                .map_err(HttpClientError::Other)?;
            self.client.call(request).await
        })
    }
}

/// Resolves names, dropping every address that is not a public unicast one.
struct PublicAddressesOnly;

impl reqwest::dns::Resolve for PublicAddressesOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves only to private or local addresses").into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether an address is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            // Forms that carry or reach an IPv4 address (mapped, compatible,
            // translated, NAT64, 6to4, Teredo) are refused outright: a
            // provider with an IPv4 address is reached over IPv4, and these
            // can lead to any IPv4 address, private ones included.
            let embeds_v4 = s[..5] == [0; 5] // ::a.b.c.d and ::ffff:a.b.c.d
                || (s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0) // ::ffff:0:a.b.c.d
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64 64:ff9b::/96, 64:ff9b:1::/48
                || s[0] == 0x2002 // 6to4
                || (s[0] == 0x2001 && s[1] == 0); // Teredo
            !(embeds_v4
                || v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated)
                || (s[0] == 0x0100 && s[1..4] == [0; 3]) // discard-only 100::/64
                || (s[0] == 0x2001 && s[1] == 0x0002 && s[2] == 0) // benchmarking
                || (s[0] == 0x2001 && (0x0010..0x0030).contains(&s[1])) // ORCHID
                || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:1.1.1.1",
            "::127.0.0.1",
            "::ffff:0:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::808:808",
            "64:ff9b:1::1",
            "2002:a9fe:a9fe::1",
            "2002:0808:0808::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "fec0::1",
            "feff::1",
            "100::1",
            "2001:2::1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "93.184.216.34", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    /// A proxy in the environment would see (and could alter) every token
    /// exchange, and reach addresses the filter refuses: the provider client
    /// ignores HTTP_PROXY and its kind. The variables are set for a child
    /// process running this same test, never for this process (tests share
    /// it); the proxy's port belongs to the parent, which checks afterwards
    /// that nothing connected to it.
    #[test]
    fn the_provider_client_ignores_proxy_variables() {
        if std::env::var_os("TRELLIS_PROXY_PROBE").is_some() {
            return probe_provider_without_proxy();
        }
        let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        proxy.set_nonblocking(true).unwrap();
        let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
        let mut child = std::process::Command::new(std::env::current_exe().unwrap());
        child
            .args([
                "domain::sso::runtime::tests::the_provider_client_ignores_proxy_variables",
                "--exact",
                "--nocapture",
            ])
            .env("TRELLIS_PROXY_PROBE", "1")
            .env_remove("NO_PROXY")
            .env_remove("no_proxy");
        for name in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ] {
            child.env(name, &proxy_url);
        }
        let status = child.status().unwrap();
        assert!(status.success(), "the provider request in the child failed");
        assert!(
            matches!(proxy.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "the provider request went through the proxy"
        );
    }

    fn probe_provider_without_proxy() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let provider = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!(
                "http://{}/.well-known/openid-configuration",
                provider.local_addr().unwrap()
            );
            let answered = tokio::spawn(async move {
                let (mut socket, _) = provider.accept().await.unwrap();
                let mut buffer = [0u8; 1024];
                let _ = socket.read(&mut buffer).await;
                socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                    .await
                    .unwrap();
            });
            let keys = SecretKeys::parse("k:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
            let sso = SsoRuntime::new(keys, DnsServer::System, true).unwrap();
            let request = http::Request::get(&url).body(Vec::new()).unwrap();
            let response = sso.http.call(request).await.expect("the provider answers");
            assert_eq!(response.status(), 200);
            answered.await.unwrap();
        });
    }

    #[tokio::test]
    async fn production_refuses_http_and_private_literals() {
        let keys = SecretKeys::parse("k:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
        let strict = SsoRuntime::new(keys.clone(), DnsServer::System, false).unwrap();
        assert!(strict.http.check("http://idp.example.com").is_err());
        assert!(strict.http.check("https://127.0.0.1:8443/").is_err());
        assert!(strict.http.check("https://[::1]/").is_err());
        assert!(strict.http.check("https://169.254.169.254/latest").is_err());
        assert!(
            strict
                .http
                .check("https://idp.example.com/.well-known/openid-configuration")
                .is_ok()
        );
        let relaxed = SsoRuntime::new(keys, DnsServer::System, true).unwrap();
        assert!(relaxed.http.check("http://127.0.0.1:9000").is_ok());
    }
}
