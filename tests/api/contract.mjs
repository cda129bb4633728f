// The API's contract, checked: every answer the API tests received against doc/openapi.yaml,
// and the role table against the document's operations.
//
//   node tests/api/contract.mjs --spec doc/openapi.yaml [--answers FILE.jsonl] [--routes FILE.json]
//
// FILE.jsonl: one answer per line, as the server's on_answer hook gives it (server/server.h,
// AnswerRecord) with the test's name: {"test", "method", "route", "status", "headers": [[k, v]…],
// "body"}. An answer fails when its route and method are not in the document, its status is not
// among the operation's responses, a required header is missing or a header's value does not
// match, a body comes where none is described, or a JSON body does not match its schema.
// An answer of no route ("-": an unknown path, a refusal before any route) must be an Error.
// FILE.json: the role table, [{"method", "path"}…]: each route must be an operation of the
// document, and each operation a route. Exit status 1, with every problem, when one fails.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

// The packages are web/'s (scripts/install-deps.sh installs them from its lockfile).
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(root, 'web', 'package.json'));
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;
const YAML = require('yaml');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
if (!args.spec) {
  console.error('usage: contract.mjs --spec doc/openapi.yaml [--answers F.jsonl] [--routes F.json]');
  process.exit(2);
}
const spec = YAML.parse(fs.readFileSync(args.spec, 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const problems = [];
const methods = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'];

// The role table spells an optional trailing slash "/?"; the document has the path without it.
const docPath = (route) => route.replace(/\/\?$/, '');

// `#/components/...` inside a schema resolve against the document's root: each compiled schema
// carries the document's components beside it.
const compiled = new Map();
function validator(schema) {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) compiled.set(key, ajv.compile({ ...schema, components: spec.components }));
  return compiled.get(key);
}
function resolve(object) {
  let o = object;
  while (o && o.$ref) {
    o = o.$ref.replace(/^#\//, '').split('/').reduce((at, part) => at[part.replace(/~1/g, '/')], spec);
  }
  return o;
}
function schemaErrors(schema, value) {
  const validate = validator(schema);
  if (validate(value)) return [];
  return validate.errors.slice(0, 5).map((e) => `${e.instancePath || '(body)'} ${e.message}`);
}

function checkAnswer(a) {
  const where = `${a.test}: ${a.method} ${a.route} → ${a.status}`;
  const headers = new Map((a.headers || []).map(([k, v]) => [k.toLowerCase(), v]));
  const fullType = headers.get('content-type') || '';
  const type = fullType.split(';')[0].trim();
  const fail = (what) => problems.push(`${where}: ${what}`);
  if (a.route === '-' || a.route.endsWith(' (exception)')) {
    if (a.status >= 500 && a.route !== '-') return fail('a handler threw');
    if (type !== 'application/json') return fail(`an answer of no route is ${type || 'bodiless'}`);
    for (const e of schemaErrors({ $ref: '#/components/schemas/Error' }, JSON.parse(a.body))) {
      fail(`not an Error: ${e}`);
    }
    return;
  }
  const item = spec.paths[docPath(a.route)];
  if (!item) return fail('the route is not in doc/openapi.yaml');
  const method = a.method.toLowerCase();
  const op = item[method] || (method === 'head' ? item.get : undefined);
  if (!op) return fail(`${a.method} is not an operation of the route in doc/openapi.yaml`);
  const response = resolve(op.responses[String(a.status)] || op.responses.default);
  if (!response) return fail(`status ${a.status} is not among the operation's responses`);
  for (const [name, header] of Object.entries(response.headers || {})) {
    const h = resolve(header);
    const value = headers.get(name.toLowerCase());
    if (value === undefined) {
      if (h.required) fail(`header ${name} is missing`);
      continue;
    }
    if (h.schema) for (const e of schemaErrors(h.schema, value)) fail(`header ${name}: ${e}`);
  }
  // No body, a streamed one (its type and headers are what is checked), or HEAD's, never sent.
  if (!a.body || a.method === 'HEAD') return;
  const content = response.content || {};
  const media = content[fullType] || content[type] || content[`${type.split('/')[0]}/*`] ||
                content['*/*'];
  if (!media) return fail(`a ${type || 'typeless'} body, where the document describes ${Object.keys(content).join(', ') || 'none'}`);
  if (type !== 'application/json' || !media.schema) return;
  let body;
  try {
    body = JSON.parse(a.body);
  } catch {
    return fail('the body is not JSON');
  }
  for (const e of schemaErrors(media.schema, body)) fail(`body: ${e}`);
}

let answers = 0;
if (args.answers) {
  for (const line of fs.readFileSync(args.answers, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    checkAnswer(JSON.parse(line));
    ++answers;
  }
}

if (args.routes) {
  const table = JSON.parse(fs.readFileSync(args.routes, 'utf8'));
  const inTable = new Set(table.map((r) => `${r.method.toLowerCase()} ${docPath(r.path)}`));
  for (const r of table) {
    const item = spec.paths[docPath(r.path)];
    if (!item || !item[r.method.toLowerCase()]) {
      problems.push(`the route ${r.method} ${r.path} is not in doc/openapi.yaml`);
    }
  }
  for (const [p, item] of Object.entries(spec.paths)) {
    for (const m of methods.filter((m) => item[m])) {
      if (!inTable.has(`${m === 'head' ? 'get' : m} ${p}`)) {
        problems.push(`doc/openapi.yaml describes ${m.toUpperCase()} ${p}, which the role table does not have`);
      }
    }
  }
}

if (problems.length > 0) {
  console.log([...new Set(problems)].join('\n'));
  process.exit(1);
}
console.log(`contract: ${answers} answers match doc/openapi.yaml`);
