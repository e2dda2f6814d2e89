// Every TypeScript snippet of the README and docs/ compiles under tsc --strict
// against the package's declarations: a reader who pastes one gets no error we
// could have caught. Each ```ts block becomes a module of its own under
// target/snippets/, named after its file and line, so tsc's errors point back to it.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
const out = join(root, "target/snippets");
const docs = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const files = [];
for (const doc of docs) {
  const lines = readFileSync(join(root, doc), "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "```ts") continue;
    const start = i + 1;
    const end = lines.indexOf("```", start);
    if (end < 0) throw new Error(`${doc}:${i + 1}: a \`\`\`ts block that never closes`);
    const name = `${doc.replace(/[/.]/g, "_")}_line${start + 1}.ts`;
    // `export {}` makes each a module: top-level await, and no names shared.
    writeFileSync(join(out, name), `${lines.slice(start, end).join("\n")}\nexport {};\n`);
    files.push(name);
    i = end;
  }
}
if (files.length === 0) throw new Error("no ```ts snippet found: the extractor is broken");

const toPkg = relative(out, join(root, "pkg-template"));
writeFileSync(join(out, "tsconfig.json"), JSON.stringify({
  compilerOptions: {
    strict: true,
    noEmit: true,
    target: "es2022",
    module: "esnext",
    moduleResolution: "bundler",
    lib: ["es2022", "dom", "dom.asynciterable"],
    types: ["node"],
    skipLibCheck: true,
    paths: {
      "mistral-ratelimit": [`${toPkg}/index.d.ts`],
      "mistral-ratelimit/worker": [`${toPkg}/worker.d.ts`],
    },
  },
  files,
}, null, 2));

try {
  execFileSync("tsc", ["-p", out], { stdio: "inherit" });
} catch {
  console.error(`snippets: a snippet above does not compile (files in ${relative(root, out)}/, named <doc>_line<N>)`);
  process.exit(1);
}
console.log(`snippets: ${files.length} TypeScript snippets from ${docs.length} documents compile under --strict`);
