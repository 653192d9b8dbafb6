/**
 * The viewer: loads a run file (`?run=URL`, a file input, or a file dropped anywhere) and
 * shows the timeline, a step cursor, the address spaces and MR device views at the
 * cursor, the causal slice and the report. A run with a violation opens at it, the
 * timeline on the race window (timelineView.ts).
 *
 * Models no kernel file.
 */
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import type { RunFile } from "../../src/output/runFile.ts";
import { parseRunFileText } from "../../src/output/runFileSchema.ts";
import { deriveOperations } from "../../src/output/traceConventions.ts";
import { AddressSpace } from "./AddressSpace.tsx";
import { DeviceView } from "./DeviceView.tsx";
import { Timeline } from "./Timeline.tsx";
import { entriesAt, lastStep, snapshotAt, stepEntries } from "./model.ts";
import { VIEW_NAMES, initialStep, runSliceOf, viewOf, type ViewName } from "./timelineView.ts";

type Loaded =
  | { readonly state: "empty" }
  | { readonly state: "loading"; readonly source: string }
  | { readonly state: "error"; readonly source: string; readonly message: string }
  | { readonly state: "ready"; readonly source: string; readonly run: RunFile };

export function App() {
  const [loaded, setLoaded] = useState<Loaded>({ state: "empty" });
  const [step, setStep] = useState(0);

  const load = useCallback((source: string, text: Promise<string>) => {
    setLoaded({ state: "loading", source });
    text
      .then((t) => {
        const run = parseRunFileText(t);
        setLoaded({ state: "ready", source, run });
        setStep(initialStep(run));
      })
      .catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        setLoaded({ state: "error", source, message });
      });
  }, []);

  useEffect(() => {
    const url = new URLSearchParams(window.location.search).get("run");
    if (url === null) return;
    load(
      url,
      fetch(url).then((r) => {
        if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
        return r.text();
      }),
    );
  }, [load]);

  useEffect(() => {
    const over = (e: DragEvent) => {
      e.preventDefault();
    };
    const drop = (e: DragEvent) => {
      e.preventDefault();
      const file = e.dataTransfer?.files[0];
      if (file !== undefined) load(file.name, file.text());
    };
    window.addEventListener("dragover", over);
    window.addEventListener("drop", drop);
    return () => {
      window.removeEventListener("dragover", over);
      window.removeEventListener("drop", drop);
    };
  }, [load]);

  const run = loaded.state === "ready" ? loaded.run : null;
  const max = run === null ? 0 : lastStep(run);
  const move = useCallback(
    (s: number) => {
      setStep(Math.min(max, Math.max(0, Math.round(s))));
    },
    [max],
  );

  useEffect(() => {
    const key = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target?.tagName === "INPUT" || target?.tagName === "TEXTAREA") return;
      const by = e.shiftKey ? 10 : 1;
      if (e.key === "ArrowLeft") setStep((s) => Math.max(0, s - by));
      else if (e.key === "ArrowRight") setStep((s) => Math.min(max, s + by));
      else if (e.key === "Home") setStep(0);
      else if (e.key === "End") setStep(max);
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", key);
    return () => {
      window.removeEventListener("keydown", key);
    };
  }, [max]);

  return (
    <div class="app">
      <header>
        <h1>odpsim</h1>
        {run === null ? null : <Meta run={run} />}
        <label class="open">
          Open run file…
          <input
            type="file"
            accept=".json,application/json"
            data-testid="file-input"
            onChange={(e) => {
              const file = e.currentTarget.files?.[0];
              if (file !== undefined) load(file.name, file.text());
            }}
          />
        </label>
      </header>
      {loaded.state === "empty" ? (
        <p class="drop">Drop a run file here, choose one, or open this page with ?run=URL.</p>
      ) : null}
      {loaded.state === "loading" ? <p class="drop">Loading {loaded.source}…</p> : null}
      {loaded.state === "error" ? (
        <p class="error" role="alert" data-testid="load-error">
          {loaded.source}: {loaded.message}
        </p>
      ) : null}
      {run === null ? null : <RunView run={run} step={step} max={max} onStep={move} />}
    </div>
  );
}

function Meta({ run }: { readonly run: RunFile }) {
  const m = run.meta;
  return (
    <p class="meta" data-testid="meta">
      <b>{m.scenario}</b> · design {m.design}
      {m.defects.length > 0 ? ` · defects ${m.defects.join(", ")}` : ""} · seed {m.seed} ·{" "}
      {m.strategy} · {m.steps} steps · {(m.timeNs / 1000).toFixed(3)} µs ·{" "}
      <span class={`status status-${m.status}`}>{m.status}</span>
    </p>
  );
}

interface RunViewProps {
  readonly run: RunFile;
  readonly step: number;
  readonly max: number;
  readonly onStep: (step: number) => void;
}

/** What each view of the timeline is called on its button. */
const VIEW_LABELS: Readonly<Record<ViewName, string>> = {
  race: "Race window",
  run: "Run (setup folded)",
  all: "Whole run",
};

function RunView({ run, step, max, onStep }: RunViewProps) {
  const [viewName, setViewName] = useState<ViewName>("race");
  const view = useMemo(() => viewOf(run, viewName), [run, viewName]);
  const slice = useMemo(() => runSliceOf(run), [run]);
  const byStep = useMemo(() => stepEntries(run.entries), [run]);
  const names = useMemo(() => new Map(run.tasks.map((t) => [t.id, `${t.name}#${t.id}`])), [run]);
  const operations = useMemo(() => deriveOperations(run.entries).operations, [run]);
  const open = operations.filter((op) => op.beginStep <= step && step <= op.endStep);
  const here = byStep[step];
  const snap = snapshotAt(run.snapshots, step);
  const atStep = entriesAt(run.entries, step);
  return (
    <main>
      <section class="left">
        <div class="views" role="group" aria-label="timeline view">
          {VIEW_NAMES.map((name) => (
            <button
              key={name}
              type="button"
              data-testid={`view-${name}`}
              class={name === viewName ? "on" : ""}
              aria-pressed={name === viewName}
              onClick={() => {
                setViewName(name);
              }}
            >
              {VIEW_LABELS[name]}
            </button>
          ))}
          <span class="dim">
            setup: steps 0–{Math.max(0, slice.setupEnd - 1)} · causal slice: {slice.steps.length}{" "}
            steps
          </span>
        </div>
        <Timeline run={run} step={step} view={view} onStep={onStep} />
        <div class="cursor">
          <button
            type="button"
            aria-label="previous step"
            onClick={() => {
              onStep(step - 1);
            }}
          >
            ◀
          </button>
          <input
            type="range"
            min={0}
            max={max}
            value={step}
            data-testid="step-slider"
            aria-label="step"
            onInput={(e) => {
              onStep(Number(e.currentTarget.value));
            }}
          />
          <button
            type="button"
            aria-label="next step"
            onClick={() => {
              onStep(step + 1);
            }}
          >
            ▶
          </button>
          <span class="where">
            step <output data-testid="cursor-step">{step}</output> / {max}
            {here === undefined
              ? ""
              : ` · ${(here.timeNs / 1000).toFixed(3)} µs · ${names.get(here.task) ?? "timer"} · ${here.label || "(yield)"}`}
          </span>
        </div>
        <div class="state">
          <section>
            <h2>Address spaces</h2>
            {snap === null ? (
              <p class="dim">No snapshot at or before step {step}.</p>
            ) : (
              <>
                <p class="dim" data-testid="snapshot-step">
                  snapshot of step {snap.step}
                </p>
                {snap.processes.map((p) => (
                  <div key={p.pid}>
                    <h3>
                      pid {p.pid} <span class="dim">{p.name}</span>
                    </h3>
                    <AddressSpace process={p} />
                  </div>
                ))}
                <Legend />
              </>
            )}
          </section>
          <section data-testid="device-view">
            <h2>Device view (MRs)</h2>
            {snap === null ? (
              <p class="dim">No snapshot at or before step {step}.</p>
            ) : snap.mrs.length === 0 ? (
              <p class="dim">No MRs.</p>
            ) : (
              snap.mrs.map((mr) => <DeviceView key={mr.name} mr={mr} />)
            )}
          </section>
        </div>
      </section>
      <aside>
        <h2>Violations</h2>
        {run.violations.length === 0 ? <p class="dim">None.</p> : null}
        <ul class="violations">
          {run.violations.map((v, i) => (
            <li key={i}>
              <button
                type="button"
                data-testid="violation-marker"
                data-step={v.step}
                class={v.step === step ? "at" : ""}
                onClick={() => {
                  onStep(v.step);
                }}
              >
                step {v.step} · {v.kind}
              </button>
              <div class="msg">{v.message}</div>
            </li>
          ))}
        </ul>
        {run.internalError === undefined ? null : (
          <p class="error">
            odpsim internal error at step {run.internalError.step}: {run.internalError.message}
          </p>
        )}
        <h2>Causal slice</h2>
        {slice.rows.length === 0 ? <p class="dim">None in this run file.</p> : null}
        <ol class="slice" data-testid="slice-rows">
          {slice.rows.map((r) => (
            <li key={r.step} class={r.step === step ? "at" : ""}>
              <button
                type="button"
                data-step={r.step}
                onClick={() => {
                  onStep(r.step);
                }}
              >
                {r.step}
              </button>{" "}
              <span class="dim">{names.get(r.task) ?? "?"}</span> {r.text}
            </li>
          ))}
        </ol>
        <h2>Report</h2>
        <pre class="report" data-testid="report">
          {run.report ?? "(no report in this run file)"}
        </pre>
        <h2>Operations in progress</h2>
        {open.length === 0 ? <p class="dim">None.</p> : null}
        <ul class="entries" data-testid="open-operations">
          {open.map((op) => (
            <li key={op.beginIndex}>
              <span class="dim">{names.get(op.task) ?? "scheduler"}</span> <b>{op.name}</b> steps{" "}
              {op.beginStep}–{op.unfinished ? "…" : op.endStep}
            </li>
          ))}
        </ul>
        <h2>At step {step}</h2>
        <ul class="entries" data-testid="step-entries">
          {atStep.map((e, i) => (
            <li key={i} class={e.label === "violation" ? "bad" : ""}>
              <span class="dim">{names.get(e.task) ?? "scheduler"}</span> {e.kind}{" "}
              <b>{e.label || "(yield)"}</b>
              {e.fields === undefined ? "" : ` ${JSON.stringify(e.fields)}`}
            </li>
          ))}
        </ul>
      </aside>
    </main>
  );
}

function Legend() {
  return (
    <p class="legend">
      <i class="sw absent" /> not present <i class="sw ro" /> read-only <i class="sw rw" /> writable{" "}
      <i class="sw dirty" /> dirty <i class="sw stale" /> stale device entry
    </p>
  );
}
