# ai-tools examples harness: runs the plan's examples against one candidate module.
# argv: spec.json results.json. spec: {module, path, per_example_secs, sys_path, examples}.
# results.json: a JSON list of [status, detail], status "pass" | "fail" | "invalid", rewritten
# after every example so a killed run keeps what finished.
import contextlib
import doctest
import importlib.util
import io
import json
import signal
import sys

spec = json.load(open(sys.argv[1], encoding="utf-8"))
out_path = sys.argv[2]
limit = int(spec.get("per_example_secs", 5))
examples = spec["examples"]
results = []


def save():
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(results, f)


class ExampleTimeout(BaseException):
    pass


def on_alarm(signum, frame):
    raise ExampleTimeout()


signal.signal(signal.SIGALRM, on_alarm)
sys.path[:0] = spec.get("sys_path", [])


def short(text, n=300):
    text = str(text)
    return text if len(text) <= n else text[:n] + "…"


try:
    signal.alarm(limit)
    with contextlib.redirect_stdout(io.StringIO()):
        loader = importlib.util.spec_from_file_location(spec["module"], spec["path"])
        module = importlib.util.module_from_spec(loader)
        sys.modules[spec["module"]] = module
        loader.loader.exec_module(module)
    signal.alarm(0)
except BaseException as e:  # the candidate itself is broken: every example fails
    signal.alarm(0)
    why = "timed out while importing the module" if isinstance(e, ExampleTimeout) else f"importing the module raised {type(e).__name__}: {short(e)}"
    results = [["fail", why] for _ in examples]
    save()
    sys.exit(0)

globs = dict(vars(module))
flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


class Recorder(doctest.DocTestRunner):
    def report_start(self, out, test, example):
        pass

    def report_success(self, out, test, example, got):
        self.outcome = ["pass", ""]

    def report_failure(self, out, test, example, got):
        self.outcome = ["fail", f"expected {short(example.want.strip())!s}, got {short(got.strip()) or 'nothing'}"]

    def report_unexpected_exception(self, out, test, example, exc_info):
        if exc_info[0] is ExampleTimeout:
            self.outcome = ["fail", f"did not finish within {limit} s"]
        else:
            self.outcome = ["fail", f"raised {exc_info[0].__name__}: {short(exc_info[1])}"]


for ex in examples:
    try:
        if ex["kind"] == "doctest":
            source = ex["source"] + "\n"
            try:
                compile(source, "<example>", "single")
            except SyntaxError as e:
                results.append(["invalid", f"the example does not compile: {e.msg}"])
                save()
                continue
            runner = Recorder(optionflags=flags, verbose=False)
            runner.outcome = ["fail", "no result"]
            test = doctest.DocTest([doctest.Example(source, ex["want"])], globs, "example", None, 0, None)
            signal.alarm(limit)
            with contextlib.redirect_stdout(io.StringIO()):
                runner.run(test, out=lambda s: None, clear_globs=False)
            signal.alarm(0)
            results.append(runner.outcome)
        else:
            try:
                left = compile(ex["left"], "<example>", "eval")
                right = compile(ex["right"], "<example>", "eval")
            except SyntaxError as e:
                results.append(["invalid", f"the example does not compile: {e.msg}"])
                save()
                continue
            signal.alarm(limit)
            with contextlib.redirect_stdout(io.StringIO()):
                want = eval(right, globs)
                got = eval(left, globs)
            signal.alarm(0)
            if got == want:
                results.append(["pass", ""])
            else:
                results.append(["fail", f"expected {short(repr(want))}, got {short(repr(got))}"])
    except ExampleTimeout:
        results.append(["fail", f"did not finish within {limit} s"])
    except BaseException as e:
        signal.alarm(0)
        results.append(["fail", f"raised {type(e).__name__}: {short(e)}"])
    save()
save()
