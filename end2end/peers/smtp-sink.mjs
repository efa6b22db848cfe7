// A real SMTP server (nodemailer's smtp-server) that keeps every message it
// receives and shows them over HTTP, for tests that read delivered mail.
//
//   node peers/smtp-sink.mjs [--smtp-port N] [--http-port N]
//
// Prints one JSON line {"smtp":N,"http":N} once both ports listen.
// HTTP: GET /messages[?to=address] lists messages (oldest first) as JSON;
//       DELETE /messages forgets them all.
// Exits when its standard input closes, so it never outlives the test
// process that started it — unless started with --until-killed (Playwright
// runs it as a web server and stops it with a signal).
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';
import http from 'node:http';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

const messages = [];

const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, session, callback) {
    simpleParser(stream)
      .then((mail) => {
        messages.push({
          from: mail.from?.text ?? '',
          to: (session.envelope.rcptTo ?? []).map((r) => r.address.toLowerCase()),
          subject: mail.subject ?? '',
          text: mail.text ?? '',
          html: typeof mail.html === 'string' ? mail.html : '',
          headers: (mail.headerLines ?? []).map((h) => h.key.toLowerCase()),
          received_at: new Date().toISOString(),
        });
        callback();
      })
      .catch(callback);
  },
});

const api = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://sink');
  if (url.pathname !== '/messages') {
    res.writeHead(404).end();
    return;
  }
  if (req.method === 'DELETE') {
    messages.length = 0;
    res.writeHead(204).end();
    return;
  }
  const to = url.searchParams.get('to')?.toLowerCase();
  const found = to ? messages.filter((m) => m.to.includes(to)) : messages;
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(found));
});

const listen = (server, port) =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server.address().port));
  });

const smtpPort = await listen(smtp.server, arg('--smtp-port', 0));
const httpPort = await listen(api, arg('--http-port', 0));
console.log(JSON.stringify({ smtp: smtpPort, http: httpPort }));

if (!process.argv.includes('--until-killed')) {
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}
process.on('SIGTERM', () => process.exit(0));
