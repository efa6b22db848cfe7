// A real DNS server (dns2) on loopback that answers TXT questions from
// records the tests publish over HTTP: the stand-in for an organization's
// DNS zone when it proves a domain for single sign-on.
//
//   node peers/dns-server.mjs [--dns-port N] [--http-port N] [--until-killed]
//
// Prints one JSON line {"dns":N,"http":N} once both listen (UDP and TCP on
// the same DNS port). Names without records get NXDOMAIN.
// HTTP: POST /txt?name=…&value=… publishes a record; DELETE /txt forgets
//       them all; GET /queries lists the names asked about.
// Exits when its standard input closes, unless --until-killed.
import dns2 from 'dns2';
import http from 'node:http';

const { Packet } = dns2;
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const normal = (name) => name.toLowerCase().replace(/\.$/, '');

const records = new Map(); // name -> [value]
const queries = [];

function handle(request, send) {
  const response = Packet.createResponseFromRequest(request);
  const [question] = request.questions;
  const name = normal(question?.name ?? '');
  queries.push(name);
  const values = records.get(name);
  if (!values) {
    response.header.rcode = 3; // NXDOMAIN
  } else if (question.type === Packet.TYPE.TXT) {
    for (const value of values) {
      response.answers.push({ name: question.name, type: Packet.TYPE.TXT, class: Packet.CLASS.IN, ttl: 1, data: value });
    }
  }
  send(response);
}

const udp = dns2.createUDPServer({ type: 'udp4' }).on('request', handle);
const tcp = dns2.createTCPServer().on('request', handle);

const api = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://dns');
  if (url.pathname === '/txt' && req.method === 'POST') {
    const name = normal(url.searchParams.get('name') ?? '');
    const value = url.searchParams.get('value') ?? '';
    records.set(name, [...(records.get(name) ?? []), value]);
    res.writeHead(204).end();
  } else if (url.pathname === '/txt' && req.method === 'DELETE') {
    records.clear();
    res.writeHead(204).end();
  } else if (url.pathname === '/queries') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(queries));
  } else {
    res.writeHead(404).end();
  }
});

// UDP first (on a free port unless one is given), then TCP on the same port.
await udp.listen(arg('--dns-port', 0), '127.0.0.1');
const dnsPort = udp.address().port;
await new Promise((resolve, reject) => {
  tcp.once('error', reject);
  tcp.listen(dnsPort, '127.0.0.1', resolve);
});
const httpPort = await new Promise((resolve, reject) => {
  api.once('error', reject);
  api.listen(arg('--http-port', 0), '127.0.0.1', () => resolve(api.address().port));
});
console.log(JSON.stringify({ dns: dnsPort, http: httpPort }));

if (!process.argv.includes('--until-killed')) {
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}
process.on('SIGTERM', () => process.exit(0));
