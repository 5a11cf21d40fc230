"""Turns bench/run.sh's results (one JSON object a line) into Markdown
tables, prints them, and writes them into BENCHMARKS.md between the
results markers, keeping the prose around them.

    python3 bench/report.py RESULTS.jsonl BENCHMARKS.md QUICK(0|1)
"""

import json
import sys

BEGIN = "<!-- results:begin (written by bench/run.sh; edit outside these markers) -->"
END = "<!-- results:end -->"

# The targets of issue 9.
STDIO_P50_OVERHEAD_US = 50
HTTP_P50_OVERHEAD_US = 150
P99_OVER_P50 = 3
TPUT_VS_BEST_PEER = 5
TPUT_VS_DIRECT = 0.8
STARTUP_SLACK = 0.10
IDLE_RSS_KB = 15 * 1024
# RSS after the soak may differ from before by allocator noise; more than
# this is growth.
GROWTH_KB = 1024


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def fmt(value, digits=0):
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return a / b


def tput(row, callers):
    for t in row.get("throughput", []):
        if t["concurrency"] == callers:
            if t.get("errors"):
                return None
            return t["calls_per_s"]
    return None


def calls_table(rows):
    direct = next((r for r in rows if r["name"].startswith("direct") and "latency" in r), None)
    d50 = direct["latency"]["p50_us"] if direct else None
    d64 = tput(direct, 64) if direct else None
    out = [
        "| contender | p50 µs | p90 µs | p99 µs | p99/p50 | p50 − direct µs | p50 ÷ direct "
        "| calls/s, 1 caller | 8 callers | 64 callers | 64 callers ÷ direct |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        if "failed" in r:
            out.append(f"| {r['name']} | {r['failed'].splitlines()[-1][:160]} |  |  |  |  |  |  |  |  |  |")
            continue
        lat = r["latency"]
        p50, p90, p99 = lat.get("p50_us"), lat.get("p90_us"), lat.get("p99_us")
        over = None if d50 is None or p50 is None else p50 - d50
        cells = [
            r["name"] + (f" (cut short: {lat.get('calls', 0)} of {r['planned_calls']} calls)"
                         if lat.get("calls", 0) < r.get("planned_calls", 0) else ""),
            fmt(p50, 1), fmt(p90, 1), fmt(p99, 1),
            fmt(ratio(p99, p50), 2),
            fmt(over, 1), fmt(ratio(p50, d50), 2),
            fmt(tput(r, 1)), fmt(tput(r, 8)), fmt(tput(r, 64)),
            fmt(ratio(tput(r, 64), d64), 2),
        ]
        errors = r.get("errors", 0) + sum(t.get("errors", 0) for t in r.get("throughput", []))
        if errors:
            cells[0] += f" — {errors} failed calls"
        out.append("| " + " | ".join(cells) + " |")
    return out


def main():
    results, md_path, quick = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    rows = load(results)
    by = {}
    for r in rows:
        by.setdefault(r["section"], []).append(r)
    facts = next((r for r in by.get("machine", []) if r["name"] == "facts"), {})
    after = next((r for r in by.get("machine", []) if r["name"] == "after"), {})

    md = []
    md.append(
        f"Run of `bench/run.sh{' --quick' if quick else ''}`: {facts.get('nproc')} cores "
        f"({facts.get('cpu')}), {facts.get('memory')}, Linux {facts.get('kernel')}, "
        f"{facts.get('rustc')}, node {facts.get('node')}, Python {facts.get('python')}. "
        f"Load average before: {facts.get('load_before')}; after: {after.get('load_after')}. "
        f"The whole script took {after.get('seconds')} s."
    )
    md.append("")

    targets = []
    for section in [s for s in by if s.startswith("calls:")]:
        srows = by[section]
        md.append(f"### {section[len('calls: '):].capitalize()}")
        md.append("")
        md += calls_table(srows)
        md.append("")
        if "echo" in section:
            targets += echo_targets(srows)

    md.append("### Load: many client sessions at once")
    md.append("")
    md += load_table(by.get("load", []), targets)
    md.append("")

    md.append("### Start-up")
    md.append("")
    md += startup_table(by.get("startup", []), targets)
    md.append("")

    md.append("### Memory (RSS of `switchboard serve`)")
    md.append("")
    md += memory_table(by.get("memory", []), targets)
    md.append("")

    md.append("### PostgreSQL skill, `query {\"sql\": \"select 1\"}`")
    md.append("")
    md += skills_table(by.get("skills", []))
    md.append("")

    md.append("### Targets")
    md.append("")
    md.append("| target | measured | met |")
    md.append("| --- | --- | --- |")
    for name, measured, met in targets:
        md.append(f"| {name} | {measured} | {met} |")
    md.append("")

    failures = by.get("peers", [])
    if failures:
        md.append("### Peers that could not be installed")
        md.append("")
        for r in failures:
            md.append(f"- {r['name']}: {r['failed']}")
        md.append("")

    text = "\n".join(md)
    print(text)
    write(md_path, text)


def echo_targets(rows):
    targets = []
    ok = [r for r in rows if "latency" in r]
    direct = next((r for r in ok if r["name"].startswith("direct")), None)
    if direct is None:
        return targets
    d50 = direct["latency"]["p50_us"]
    d64 = tput(direct, 64)
    peers = [r for r in ok if not r["name"].startswith(("direct", "Switchboard"))]
    best_peer = max((tput(r, 64) or 0 for r in peers), default=0)
    for r in ok:
        # Targets are for what clients do: keep their connection. The
        # connection-per-call row is for comparison only.
        if not r["name"].startswith("Switchboard,") or "new connection" in r["name"]:
            continue
        lat = r["latency"]
        http = "HTTP" in r["name"]
        limit = HTTP_P50_OVERHEAD_US if http else STDIO_P50_OVERHEAD_US
        over = lat["p50_us"] - d50
        kind = "Streamable HTTP, keep-alive" if http else "stdio"
        targets.append((f"p50 overhead over direct, {kind}, < {limit} µs", f"{over:.1f} µs", yes(over < limit)))
        p = lat["p99_us"] / lat["p50_us"]
        targets.append((f"p99 < {P99_OVER_P50}× p50, {kind}", f"{p:.2f}×", yes(p < P99_OVER_P50)))
        t64 = tput(r, 64)
        if t64 and best_peer:
            targets.append((f"64 callers ≥ {TPUT_VS_BEST_PEER}× the best peer ({best_peer:,.0f}/s), {kind}",
                            f"{t64 / best_peer:.2f}×", yes(t64 >= TPUT_VS_BEST_PEER * best_peer)))
        if t64 and d64:
            targets.append((f"64 callers ≥ {TPUT_VS_DIRECT:.0%} of direct, {kind}",
                            f"{t64 / d64:.0%}", yes(t64 >= TPUT_VS_DIRECT * d64)))
    return targets


def yes(ok):
    return "yes" if ok else "**no**"


def load_table(rows, targets):
    if not rows:
        return ["(not measured)"]
    out = [
        "| run | sessions | seconds | calls | calls/s | p50 µs | p99 µs | p99/p50 | failed calls |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        if "failed" in r:
            out.append(f"| {r['name']} | failed: {r['failed'][-160:]} |  |  |  |  |  |  |  |")
            continue
        lat = r["latency"]
        out.append(
            f"| {r['label']} | {r['sessions']} | {fmt(r['seconds'], 1)} | {fmt(r['calls'])} "
            f"| {fmt(r['calls_per_s'])} | {fmt(lat.get('p50_us'), 1)} | {fmt(lat.get('p99_us'), 1)} "
            f"| {fmt(ratio(lat.get('p99_us'), lat.get('p50_us')), 2)} | {r['errors']} |"
        )
        targets.append((f"{r['sessions']} sessions for {r['seconds']:.0f} s without a failed call, stdio",
                        f"{r['errors']} failed of {r['calls'] + r['errors']:,}", yes(r["errors"] == 0)))
    return out


def startup_table(rows, targets):
    out = [
        "| connectors | service ready ms | all `connected` ms (median / best) | backends alone: sum ms "
        "| slowest alone ms | all at once from one client ms | Switchboard ÷ slowest alone | Switchboard ÷ all at once |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    named = {r["name"]: r for r in rows}
    for name in ["empty", "50 defined, none to start"]:
        r = named.get(name)
        if r is None:
            continue
        if "failed" in r:
            out.append(f"| {name} | failed: {r['failed'][-160:]} |  |  |  |  |  |  |")
            continue
        out.append(f"| 0 ({name}) | {fmt(r['ready_ms'], 1)} | – | – | – | – | – | – |")
    for n in (1, 15, 50):
        r = named.get(f"{n} connected")
        b = named.get(f"backends {n}")
        if r is None:
            continue
        if "failed" in r:
            out.append(f"| {n} | failed: {r['failed'][-160:]} |  |  |  |  |  |  |")
            continue
        sb = r.get("all_connected_ms")
        best = r.get("all_connected_min_ms")
        solo_sum = b.get("solo_sum_ms") if b and "failed" not in b else None
        solo_max = b.get("solo_max_ms") if b and "failed" not in b else None
        par = b.get("parallel_ms") if b and "failed" not in b else None
        out.append(
            f"| {n} | {fmt(r['ready_ms'], 1)} | {fmt(sb, 1)} / {fmt(best, 1)} | {fmt(solo_sum, 1)} | {fmt(solo_max, 1)} "
            f"| {fmt(par, 1)} | {fmt(ratio(sb, solo_max), 2)} | {fmt(ratio(sb, par), 2)} |"
        )
        if n == 15 and sb is not None and solo_max:
            targets.append((f"15 connectors within {STARTUP_SLACK:.0%} of the slowest backend's own start",
                            f"{sb:.1f} ms vs {solo_max:.1f} ms ({sb / solo_max:.2f}×)",
                            yes(sb <= solo_max * (1 + STARTUP_SLACK))))
    return out


def memory_table(rows, targets):
    out = []
    rss = next((r for r in rows if r["name"] == "rss"), None)
    if rss is None:
        return ["(not measured)"]
    mb = lambda kb: f"{kb / 1024:.1f} MB"
    out.append("| state | RSS | anonymous (its own heap and stacks) | file-backed (code, shared libraries) |")
    out.append("| --- | ---: | ---: | ---: |")
    def line(label, m):
        out.append(f"| {label} | {mb(m['rss_kb'])} | {mb(m['anon_kb'])} | {mb(m['file_kb'])} |")
    line("idle, no connector", rss["idle"])
    line("15 connectors connected", rss["connected_15"])
    line("after the latency and throughput runs (16 connectors)", rss["before_soak"])
    line(f"after {rss['soak_calls']:,} more calls over stdio", rss["after_stdio_soak"])
    if rss.get("http"):
        line(f"after {rss['soak_calls']:,} more calls over Streamable HTTP", rss["after_soak"])
    for r in rows:
        if "failed" in r:
            out.append(f"| {r['name']} | failed: {r['failed'][-160:]} | | |")
    soaks = [r for r in rows if "throughput" in r]
    if soaks:
        out.append("")
        out.append("Soak runs (8 callers): " + "; ".join(
            f"{r['name']}: {r['throughput'][0]['calls']:,} calls, {r['throughput'][0]['calls_per_s']:,.0f}/s, "
            f"{r['throughput'][0]['errors']} failed" for r in soaks) + ".")
    idle = rss["idle"]["rss_kb"]
    targets.append((f"idle RSS < {IDLE_RSS_KB // 1024} MB", f"{mb(idle)} ({mb(rss['idle']['anon_kb'])} anonymous)",
                    yes(idle < IDLE_RSS_KB)))
    growth = rss["after_soak"]["rss_kb"] - rss["before_soak"]["rss_kb"]
    targets.append((f"no growth after {rss['soak_calls']:,} calls per transport (< {GROWTH_KB // 1024} MB)",
                    f"{growth / 1024:+.1f} MB", yes(growth < GROWTH_KB)))
    return out


def skills_table(rows):
    named = {r["name"]: r for r in rows}
    driver = named.get("driver")
    if driver is None or "failed" in driver:
        return [f"(driver benchmark failed: {driver['failed'][-200:] if driver else 'not run'})"]
    if "skipped" in driver:
        return [f"(skipped: {driver['skipped']})"]
    raw = driver["raw_query"]["p50_us"]
    out = [
        "| path | p50 µs | p90 µs | p99 µs | p50 ÷ raw driver |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    def line(name, lat):
        out.append(f"| {name} | {fmt(lat['p50_us'], 1)} | {fmt(lat['p90_us'], 1)} | {fmt(lat['p99_us'], 1)} "
                   f"| {fmt(ratio(lat['p50_us'], raw), 2)} |")
    line("raw driver: `client.query(\"select 1\")` (tokio-postgres)", driver["raw_query"])
    line("raw driver doing the skill's round trips (read-only tx, SET LOCAL, prepare, bind, portal, rollback)",
         driver["raw_same_round_trips"])
    line("the skill in process (`skills::open(\"postgres\")`, `call(\"query\")`)", driver["skill_in_process"])
    for key in ["skill through the gateway, stdio", "skill through the gateway, Streamable HTTP"]:
        r = named.get(key)
        if r is None:
            continue
        if "failed" in r:
            out.append(f"| {key} | failed: {r['failed'][-160:]} | | | |")
            continue
        line(key + " (MCP client → `postgres__query`)", r["latency"])
    cli = named.get("cli")
    if cli and "failed" not in cli:
        out.append(f"| `switchboard call postgres query …` (a process per call, {cli['runs']} runs) "
                   f"| {cli['p50_ms'] * 1000:,} | | | {cli['p50_ms'] * 1000 / raw:.0f} |")
    return out


def write(path, text):
    try:
        with open(path) as f:
            current = f.read()
    except FileNotFoundError:
        current = "# Benchmarks\n\n" + BEGIN + "\n" + END + "\n"
    if BEGIN not in current or END not in current:
        current = current.rstrip("\n") + "\n\n## Results\n\n" + BEGIN + "\n" + END + "\n"
    head, rest = current.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w") as f:
        f.write(head + BEGIN + "\n\n" + text.rstrip("\n") + "\n\n" + END + tail)


if __name__ == "__main__":
    main()
