// Shared by the SDK fidelity tests: a client pointed at the mock that also keeps
// every raw response, and checks that hold the mock to what the official SDK reads.
//
// The SDK is lenient in three ways that would hide a wrong mock, so the checks
// here close each one:
//   1. Its objects are not strict: an unknown (say, misspelled) field is silently
//      dropped. `assertFaithful` compares each raw body with what the SDK parsed and
//      reports every field the SDK dropped or changed.
//   2. Its discriminated unions (stream events, tools, model cards) turn a variant
//      that fails validation into `{type: "UNKNOWN", isUnknown: true, raw}` instead
//      of failing. `assertFaithful` reports those, with the zod error the variant's
//      own schema gives.
//   3. Its enums are open: any string passes. The tests assert the values.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { HTTPClient, Mistral } from "@mistralai/mistralai";
import * as components from "@mistralai/mistralai/models/components";

export { components };

/** A function tool the chat, conversation and agent tests all offer the model. */
export const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

/** The mock's base URL, from `scripts/run/with-mock.sh`. */
export function mockURL() {
  const url = process.env.MISTRAL_MOCK_URL;
  if (!url) {
    throw new Error(
      "MISTRAL_MOCK_URL is not set: run through scripts/run/with-mock.sh " +
        "(scripts/run/with-mock.sh --stream-tokens-per-second 5000 -- node --test tests/sdk-fidelity/)",
    );
  }
  return url;
}

/**
 * A Mistral client on `serverURL` whose HTTP client records each exchange in
 * `exchanges` (newest last): `{method, url, requestText, status, headers, text}`,
 * where `text` is a promise of the whole raw body (read from a clone, so streams
 * still flow). `faults` lists an `x-mock-fault` for each coming request (null for
 * none), so a test can script failures without touching the shared mock's state.
 */
export function makeClient({ serverURL = mockURL(), apiKey = "test-key", faults = [], ...options } = {}) {
  const exchanges = [];
  const httpClient = new HTTPClient({
    fetcher: async (input, init) => {
      const request = input instanceof Request ? input : new Request(input, init);
      const fault = faults.shift();
      if (fault) request.headers.set("x-mock-fault", fault);
      const requestText = request.body ? await request.clone().text() : "";
      const response = await fetch(request);
      exchanges.push({
        method: request.method,
        url: request.url,
        requestText,
        status: response.status,
        headers: response.headers,
        text: response.clone().text(),
      });
      return response;
    },
  });
  const sdk = new Mistral({ apiKey, serverURL, httpClient, ...options });
  return {
    sdk,
    exchanges,
    /** The last exchange, with its body read. */
    async last() {
      const x = exchanges.at(-1);
      assert.ok(x, "no request was made");
      return { ...x, text: await x.text };
    },
    /** The last exchange's body as JSON. */
    async lastJSON() {
      const x = await this.last();
      try {
        return JSON.parse(x.text);
      } catch {
        assert.fail(`${x.method} ${x.url} answered ${x.status} with a body that is not JSON: ${x.text.slice(0, 500)}`);
      }
    },
  };
}

/** One zod issue list as lines: `path: message (code; expected ...)`. */
export function formatIssues(issues, prefix = "", depth = 0) {
  const lines = [];
  for (const issue of issues ?? []) {
    const path = [prefix, ...(issue.path ?? [])].filter((p) => p !== "").join(".") || "(root)";
    const extra = [issue.code, issue.expected && `expected ${issue.expected}`].filter(Boolean).join("; ");
    lines.push(`${path}: ${issue.message} (${extra})`);
    // A union reports each option's issues: show the first of each, one level deep.
    if (depth === 0) {
      for (const [i, branch] of (issue.errors ?? []).entries()) {
        const [line] = formatIssues(branch.slice(0, 1), `${path}<option ${i}>`, depth + 1);
        if (line) lines.push(`  ${line}`);
      }
    }
  }
  return lines;
}

/**
 * Awaits an SDK call. A response the SDK refused (a zod failure) becomes an
 * assertion failure that names the zod path and the raw value, so the report says
 * exactly what the mock got wrong.
 */
export async function sdkCall(promise) {
  try {
    return await promise;
  } catch (err) {
    throw explainValidation(err) ?? err;
  }
}

function explainValidation(err) {
  const issues = err?.cause?.issues ?? err?.issues;
  const isResponseValidation = typeof err?.pretty === "function" || err?.name === "ZodError";
  if (!isResponseValidation || !issues) return null;
  const raw = err.rawValue !== undefined ? JSON.stringify(err.rawValue, null, 0) : "(see body)";
  return new assert.AssertionError({
    message:
      `The SDK rejected the mock's response (${err.name}):\n` +
      formatIssues(issues).map((l) => `  ${l}`).join("\n") +
      `\n  raw value: ${raw.slice(0, 3000)}`,
  });
}

/** Iterates an SDK event stream to its end and returns the events. */
export async function drain(stream) {
  const events = [];
  try {
    for await (const event of stream) events.push(event);
  } catch (err) {
    throw explainValidation(err) ?? err;
  }
  return events;
}

/** Splits a raw event-stream body into frames `{event, data, fields}` (comment lines skipped). */
export function parseSSE(text) {
  const frames = [];
  for (const block of text.split(/\r\n\r\n|\n\n|\r\r/)) {
    if (!block.trim()) continue;
    const frame = { event: undefined, data: undefined, fields: [] };
    const data = [];
    for (const line of block.split(/\r\n|\n|\r/)) {
      if (line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      let value = i < 0 ? "" : line.slice(i + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      frame.fields.push(field);
      if (field === "data") data.push(value);
      else if (field === "event") frame.event = value;
    }
    if (data.length) frame.data = data.join("\n");
    if (frame.fields.length) frames.push(frame);
  }
  return frames;
}

// The schema of each variant of the SDK's discriminated unions, by `type`, to say
// why a variant fell back to "UNKNOWN".
const VARIANTS = {
  "conversation.response.started": components.ResponseStartedEvent$inboundSchema,
  "conversation.response.done": components.ResponseDoneEvent$inboundSchema,
  "conversation.response.error": components.ResponseErrorEvent$inboundSchema,
  "message.output.delta": components.MessageOutputEvent$inboundSchema,
  "function.call.delta": components.FunctionCallEvent$inboundSchema,
  "tool.execution.started": components.ToolExecutionStartedEvent$inboundSchema,
  "tool.execution.delta": components.ToolExecutionDeltaEvent$inboundSchema,
  "tool.execution.done": components.ToolExecutionDoneEvent$inboundSchema,
  "agent.handoff.started": components.AgentHandoffStartedEvent$inboundSchema,
  "agent.handoff.done": components.AgentHandoffDoneEvent$inboundSchema,
  base: components.BaseModelCard$inboundSchema,
  "fine-tuned": components.FTModelCard$inboundSchema,
  function: components.FunctionTool$inboundSchema,
  web_search: components.WebSearchTool$inboundSchema,
  web_search_premium: components.WebSearchPremiumTool$inboundSchema,
  code_interpreter: components.CodeInterpreterTool$inboundSchema,
  image_generation: components.ImageGenerationTool$inboundSchema,
  document_library: components.DocumentLibraryTool$inboundSchema,
  text: components.TextChunk$inboundSchema,
  image_url: components.ImageURLChunk$inboundSchema,
  document_url: components.DocumentURLChunk$inboundSchema,
  tool_file: components.ToolFileChunk$inboundSchema,
  tool_reference: components.ToolReferenceChunk$inboundSchema,
  thinking: components.ThinkChunk$inboundSchema,
};

function isUnknownVariant(v) {
  return v !== null && typeof v === "object" && v.isUnknown === true && "raw" in v;
}

const camel = (k) => k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/**
 * Every field of `raw` (a response body as the mock sent it) must survive into
 * `parsed` (what the SDK returned) with the same value: a dropped field is one the
 * SDK does not know, a changed one was coerced, an "UNKNOWN" variant failed its
 * schema. `allowExtra` names fields the SDK is known not to model (e.g. chat's
 * padding field `p`). Throws one assertion listing every problem.
 */
export function assertFaithful(raw, parsed, { allowExtra = [], what = "response" } = {}) {
  const problems = [];
  walk(raw, parsed, "$", problems, new Set(allowExtra));
  if (problems.length) {
    assert.fail(`${what}: the SDK did not read the mock's body as sent:\n  ${problems.join("\n  ")}`);
  }
}

function walk(raw, parsed, path, problems, allow) {
  if (isUnknownVariant(parsed)) {
    const type = raw?.type;
    const schema = VARIANTS[type];
    let why = `type ${JSON.stringify(type)} is not one the SDK knows`;
    if (schema) {
      const r = schema.safeParse(raw);
      why = r.success ? "(its schema accepts it alone; check the union)" : formatIssues(r.error.issues, path).join("; ");
    }
    problems.push(`${path}: the SDK fell back to UNKNOWN: ${why}`);
    return;
  }
  if (raw === null || raw === undefined) {
    if (parsed !== null && parsed !== undefined) problems.push(`${path}: sent null, SDK holds ${JSON.stringify(parsed)}`);
    return;
  }
  if (parsed instanceof Date) {
    if (typeof raw !== "string" || Number.isNaN(parsed.getTime()) || parsed.getTime() !== Date.parse(raw)) {
      problems.push(`${path}: sent ${JSON.stringify(raw)}, SDK read the date ${parsed}`);
    }
    return;
  }
  if (Array.isArray(raw)) {
    if (!Array.isArray(parsed) || parsed.length !== raw.length) {
      problems.push(`${path}: sent an array of ${raw.length}, SDK holds ${JSON.stringify(parsed)?.slice(0, 200)}`);
      return;
    }
    raw.forEach((item, i) => walk(item, parsed[i], `${path}[${i}]`, problems, allow));
    return;
  }
  if (typeof raw === "object") {
    if (parsed === null || typeof parsed !== "object") {
      problems.push(`${path}: sent an object, SDK holds ${JSON.stringify(parsed)}`);
      return;
    }
    for (const [k, v] of Object.entries(raw)) {
      const key = k in parsed ? k : camel(k);
      if (!(key in parsed)) {
        if (!allow.has(k)) problems.push(`${path}.${k}: dropped by the SDK (a field it does not know), value ${JSON.stringify(v)?.slice(0, 80)}`);
        continue;
      }
      walk(v, parsed[key], `${path}.${k}`, problems, allow);
    }
    return;
  }
  if (raw !== parsed) problems.push(`${path}: sent ${JSON.stringify(raw)}, SDK holds ${JSON.stringify(parsed)}`);
}

/** Asserts that `promise` rejects with an SDK error of `status`; returns the error. */
export async function rejectsWithStatus(promise, status, ErrorClass) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected HTTP ${status}, but the call succeeded`);
  const validation = explainValidation(err);
  if (validation) throw validation;
  assert.equal(err.statusCode, status, `expected HTTP ${status}, got: ${err}`);
  if (ErrorClass) assert.ok(err instanceof ErrorClass, `expected ${ErrorClass.name}, got ${err.name}: ${err.message}`);
  return err;
}

/** Asserts `s` is an RFC 3339 date-time with an offset, as the SDK requires. */
export function assertDateTime(s, what) {
  assert.equal(typeof s, "string", `${what} should be a date-time string`);
  assert.match(s, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, `${what}: ${s}`);
}

/** Asserts a usage object adds up. */
export function assertUsage(u, what = "usage") {
  for (const k of ["promptTokens", "completionTokens", "totalTokens"]) {
    assert.ok(Number.isInteger(u[k]) && u[k] >= 0, `${what}.${k} should be a whole number, is ${u[k]}`);
  }
  assert.ok(u.promptTokens > 0, `${what}.promptTokens should be positive`);
  assert.ok(u.totalTokens >= u.promptTokens + u.completionTokens, `${what}: total ${u.totalTokens} < prompt + completion`);
}

/**
 * Starts a second mock (for options the shared one lacks, like `--api-key`) and
 * returns `{url, stop}`. Uses MISTRAL_MOCK_BIN from with-mock.sh, or the release
 * build in this repository.
 */
export async function startMock(args) {
  const here = dirname(fileURLToPath(import.meta.url));
  const bin = process.env.MISTRAL_MOCK_BIN ?? join(here, "..", "..", "target", "release", "mock-mistral");
  assert.ok(existsSync(bin), `no mock binary at ${bin}: run through scripts/run/with-mock.sh`);
  const child = spawn(bin, ["--host", "127.0.0.1", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mock did not start in 10 s: ${stderr}`)), 10_000);
    child.once("exit", (code) => reject(new Error(`mock exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const m = /^mock-mistral listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", resolve);
        child.kill("SIGTERM");
      }),
  };
}

/** The wire (snake_case) field names an SDK object schema knows. */
export function wireKeys(schema) {
  let def = schema._zod.def;
  while (def.type === "pipe") def = def.in._zod.def;
  assert.equal(def.type, "object", "wireKeys needs an object schema");
  return Object.keys(def.shape);
}
