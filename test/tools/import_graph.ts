/**
 * The import graph of main.ts, src/ and workers/ from Deno's own module graph (`deno info --json`,
 * code and type-only imports alike), checked against the project's layering (docs/architecture.md):
 *
 * - no cycle among files, and none among folders;
 * - no arrow up: a module imports only modules of its own rank or below (LAYERS), and none of the
 *   arrows FORBIDDEN;
 * - the server never imports tests: no module of main.ts, src/ or workers/ (tests beside the code
 *   included) imports test/ or bench/, and only tests import `*_test.ts`, `testdata/` or src/testing/.
 *
 * `deno task check:imports` runs it; test/tools/import_graph_test.ts runs it in `deno task test`.
 *
 * @module
 */

/** Module -> the modules it imports, as paths relative to the project root. */
export type ImportGraph = Map<string, Set<string>>;

/**
 * Ranks by path prefix (the longest prefix wins), lowest first. A module may import its own rank
 * and below. Rank 0 is the wire and the socket edge; 1 libraries that know nothing of dm-live's
 * sessions; then the config, the stream model, the RTSP sessions, the workers' coordination, the
 * API, and the composition roots.
 */
export const LAYERS: readonly (readonly [prefix: string, rank: number])[] = [
  ["src/version.ts", 0],
  ["src/v8_flags.ts", 0],
  // The `hls:` config type and its defaults import nothing, so config.ts (3) may import them;
  // outside hls/, which imports the config's users.
  ["src/hls_settings.ts", 0],
  ["src/log/", 0],
  // Many short deadlines behind one runtime timer per worker: for the poller (net/) and the stream model.
  ["src/clock/", 0],
  ["src/rtsp/", 0],
  ["src/sdp/", 0],
  ["src/rtp/", 0],
  // Fragmented MP4 (ISO BMFF): boxes from samples, no I/O; below hls/ and record/, its two users.
  ["src/fmp4/", 0],
  ["src/rtcp/", 0],
  ["src/net/", 0],
  ["src/etcd/", 0],
  ["src/stats/", 0],
  // Hook events and their delivery: plain shapes the sessions (5) make and messages.ts (6) carries,
  // and a queue that knows only the log; below config.ts (3), whose `hooks:` type it owns.
  ["src/hooks/", 0],
  ["src/testing/", 0],
  ["src/auth/", 1],
  ["src/ring/", 1],
  ["src/paths/", 2],
  ["src/config.ts", 3],
  ["src/config_load.ts", 3],
  // Who may publish or read a path, for every protocol (RTSP sessions, HLS): above the config.
  ["src/access/", 3],
  ["src/stream/", 4],
  // A stream's ring read back into frames and fMP4 fragments, for its two users beside it:
  // Low-Latency HLS (hls/) and recording (record/).
  ["src/mux/", 4],
  ["src/hls/", 4],
  ["src/record/", 4],
  ["src/session/", 5],
  ["src/cluster/", 6],
  ["src/api/", 7],
  ["workers/", 8],
  ["main.ts", 8],
];

/**
 * Arrows between layers that the ranks allow but the design does not: the media plane (ring,
 * stream) knows nothing of the RTSP control protocol, whose errors and headers belong to sessions.
 */
export const FORBIDDEN: readonly (readonly [from: string, to: string])[] = [
  ["src/ring/", "src/rtsp/"],
  ["src/stream/", "src/rtsp/"],
  ["src/hls/", "src/rtsp/"],
  ["src/mux/", "src/rtsp/"],
  ["src/record/", "src/rtsp/"],
  ["src/fmp4/", "src/rtsp/"],
  // etcd is the cluster's edge adapter, asked by cluster/ alone.
  ["src/session/", "src/etcd/"],
  ["src/stream/", "src/etcd/"],
  ["src/api/", "src/etcd/"],
  ["workers/", "src/etcd/"],
];

/** The rank of a module, or undefined when no layer names it. */
export function rankOf(module: string, layers = LAYERS): number | undefined {
  let best: readonly [string, number] | undefined;
  for (const l of layers) {
    if (module.startsWith(l[0]) && (best === undefined || l[0].length > best[0].length)) best = l;
  }
  return best?.[1];
}

/** A module's folder for the folder-cycle check: `src/x/` for src/x/..., `src/config` for src/config*.ts. */
export function folderOf(module: string): string {
  const parts = module.split("/");
  if (parts[0] === "src" && parts.length > 2) return `src/${parts[1]}/`;
  if (parts[0] === "src" && /^config(_load)?\.ts$/.test(parts[1])) return "src/config";
  if (parts[0] === "workers") return "workers/";
  return module;
}

/** Whether a module is test code (a test, its data, or the shared test harness). */
export function isTestModule(module: string): boolean {
  return /_test\.ts$/.test(module) || module.includes("/testdata/") || module.startsWith("src/testing/") ||
    module.startsWith("test/") || module.startsWith("bench/");
}

/** Every elementary cycle representative: the strongly connected components with more than one node (Tarjan). */
export function findCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || graph.get(v)?.has(v)) out.push(comp.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

/** The graph of folders: an arrow when any module of one imports a module of another. */
export function folderGraph(graph: ImportGraph): ImportGraph {
  const out: ImportGraph = new Map();
  for (const [a, deps] of graph) {
    const fa = folderOf(a);
    if (!out.has(fa)) out.set(fa, new Set());
    for (const b of deps) {
      const fb = folderOf(b);
      if (fb !== fa) out.get(fa)!.add(fb);
    }
  }
  return out;
}

/** Every rule the graph breaks, one line each; empty when it keeps them all. */
export function violations(graph: ImportGraph, layers = LAYERS, forbidden = FORBIDDEN): string[] {
  const out: string[] = [];
  for (const c of findCycles(graph)) out.push(`import cycle: ${c.join(" -> ")}`);
  const testsLeftOut = new Map([...graph].filter(([m]) => !isTestModule(m)));
  for (const c of findCycles(folderGraph(testsLeftOut))) out.push(`folder cycle: ${c.join(" -> ")}`);
  for (const [a, deps] of graph) {
    const test = isTestModule(a);
    for (const b of deps) {
      if (b.startsWith("test/") || b.startsWith("bench/")) {
        if (!a.startsWith("test/") && !a.startsWith("bench/")) {
          out.push(`${a} imports ${b}: src/ never imports test/ or bench/`);
        }
        continue;
      }
      if (isTestModule(b) && !test) {
        out.push(`${a} imports test code ${b}`);
        continue;
      }
      if (test) continue;
      const ra = rankOf(a, layers);
      const rb = rankOf(b, layers);
      if (ra === undefined) out.push(`${a} is in no layer (add it to LAYERS)`);
      else if (rb === undefined) out.push(`${b} is in no layer (add it to LAYERS)`);
      else if (rb > ra) out.push(`upward arrow: ${a} (rank ${ra}) imports ${b} (rank ${rb})`);
      for (const [from, to] of forbidden) {
        if (a.startsWith(from) && b.startsWith(to)) {
          out.push(`${a} imports ${b}: ${from} never imports ${to}`);
        }
      }
    }
  }
  return [...new Set(out)];
}

/** The project's modules: main.ts, workers/*.ts and every .ts under src/ (tests included). */
export async function projectModules(root: string): Promise<string[]> {
  const out = ["main.ts"];
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(`${root}/${dir}`)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.isFile && e.name.endsWith(".ts")) out.push(p);
    }
  };
  await walk("src");
  await walk("workers");
  return out.sort();
}

/** The import graph of `modules` (relative to root) and of everything they import inside root. */
export async function importGraph(root: string, modules: string[]): Promise<ImportGraph> {
  const base = new URL(`file://${root.endsWith("/") ? root : root + "/"}`);
  const rootUrl = "data:application/typescript," +
    encodeURIComponent(modules.map((m) => `import "${new URL(m, base).href}";`).join("\n"));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", rootUrl],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno info failed: ${new TextDecoder().decode(out.stderr)}`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
    }[];
  };
  const rel = (s: string | undefined) =>
    s !== undefined && s.startsWith(base.href) ? decodeURIComponent(s.slice(base.href.length)) : undefined;
  const graph: ImportGraph = new Map();
  for (const m of info.modules) {
    const a = rel(m.specifier);
    if (a === undefined || !a.endsWith(".ts")) continue;
    const deps = new Set<string>();
    for (const d of m.dependencies ?? []) {
      for (const s of [rel(d.code?.specifier), rel(d.type?.specifier)]) if (s?.endsWith(".ts")) deps.add(s);
    }
    graph.set(a, deps);
  }
  return graph;
}

if (import.meta.main) {
  const root = new URL("../../", import.meta.url).pathname;
  const graph = await importGraph(root, await projectModules(root));
  const bad = violations(graph);
  const edges = [...graph.values()].reduce((n, d) => n + d.size, 0);
  if (bad.length === 0) {
    console.log(`import graph: ${graph.size} modules, ${edges} imports, 0 cycles, no upward arrows`);
  } else {
    for (const line of bad) console.error(line);
    console.error(`import graph: ${bad.length} problem(s) in ${graph.size} modules`);
    Deno.exit(1);
  }
}
