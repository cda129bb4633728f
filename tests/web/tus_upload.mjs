// Uploads one file to `dossier serve` with the real tus-js-client (web/node_modules), as the
// portal will: 1 MiB PATCHes, aborted halfway and resumed from where the server says, then
// follows the ingest job and reads the stored document back. Prints the job as JSON; exits 1
// on any difference.
//
//   node tests/web/tus_upload.mjs BASE_URL CASE USER PASSWORD_FILE FILE RELATIVE_PATH
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const tus = require('tus-js-client');

const [base, caseId, user, passwordFile, file, relativePath] = process.argv.slice(2);
const password = readFileSync(passwordFile, 'utf8').trim();
const bytes = readFileSync(file);

function fail(what) {
  console.error(`tus_upload: ${what}`);
  process.exit(1);
}

const login = await fetch(`${base}/api/session`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ username: user, password }),
});
if (login.status !== 200) fail(`sign-in answered ${login.status}`);
const cookie = login.headers.get('set-cookie').split(';')[0];
const { csrf } = await login.json();

let aborted = false;
let resumedFrom = -1;
const job = await new Promise((resolve, reject) => {
  const upload = new tus.Upload(bytes, {
    endpoint: `${base}/api/cases/${caseId}/tus/`,
    chunkSize: 1024 * 1024,
    retryDelays: [0, 200],
    storeFingerprintForResuming: false,
    metadata: { filename: relativePath.split('/').pop(), relativePath },
    headers: { Cookie: cookie, 'X-CSRF-Token': csrf },
    onProgress(sent) {
      if (!aborted && sent >= bytes.length / 2) {
        aborted = true;
        upload.abort().then(() => {
          // A new start() asks the server where the upload is (HEAD) and goes on from there.
          upload.options.onProgress = (now) => {
            if (resumedFrom < 0) resumedFrom = now;
          };
          upload.start();
        });
      }
    },
    onError: reject,
    onSuccess(payload) {
      resolve(payload.lastResponse.getHeader('Dossier-Job'));
    },
  });
  upload.start();
});
if (!job) fail('the last PATCH named no job');

let state;
for (let i = 0; i < 600; i++) {
  const r = await fetch(`${base}/api/jobs/${job}`, { headers: { Cookie: cookie } });
  state = await r.json();
  if (state.state === 'done' || state.state === 'failed') break;
  await new Promise((ok) => setTimeout(ok, 100));
}
if (state.state !== 'done') fail(`the job ended ${state.state}: ${JSON.stringify(state.error)}`);
const item = state.result.items[0];
const content = await fetch(`${base}/api/documents/${item.id}/content`, {
  headers: { Cookie: cookie },
});
const back = Buffer.from(await content.arrayBuffer());
if (!back.equals(bytes)) fail('the stored document differs from the file');
if (!aborted || resumedFrom < bytes.length / 4) {
  fail(`the upload was not aborted and resumed halfway (resumed from ${resumedFrom})`);
}
console.log(JSON.stringify({ job: state.id, status: item.status, path: item.path, size: item.size, resumed: true }));
