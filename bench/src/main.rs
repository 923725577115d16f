//! weft's benchmark suite. Each scenario prints one line of figures per store
//! setting: the median of `--runs` runs (each in a fresh process), with min and max.
//!
//! ```text
//! cargo run --release -p weft-bench -- [--runs 3] [--scale 1.0] [--scenario NAME]... [--store STORE]...
//! ```
//!
//! Stores: `full` and `normal` (an SQLite file at that durability),
//! `memory`, and `pg1`, `pg2`, `pg4`: PostgreSQL (the server
//! `WEFT_BENCH_POSTGRES` or `WEFT_TEST_POSTGRES` names) with 1, 2 or 4
//! worker processes, the bench process being a client only. Runs of the
//! stores alternate (run 1 of each, then run 2 of each, ...), so that the
//! machine's drift spreads over all of them.
//!
//! Scenarios: `latency` (one seed workflow at a time, start to result),
//! `throughput` (10 000 seed workflows, up to 500 in flight), `activities`
//! (1 000 workflows of 10 sequential activities), `fanout` (one workflow,
//! 1 000 concurrent activities), `replay` (a 10 000-event history replayed
//! cold), `memory` (RSS with 100 000 workflows waiting on timers, cache of
//! 10 000), `recovery` (engine start to 10 000 in-flight workflows running again),
//! `signals` (10 000 signals into 1 000 running workflows, up to 500 in flight),
//! `queries` (1 000 sequential queries on one workflow of about 100 events,
//! cached and replayed), `updates` (1 000 sequential update round trips on one
//! workflow), `children` (100 parents of 10 child workflows each, at once),
//! `chains` (one continue-as-new chain of 1 000 runs), `local` (as
//! `activities`, with local activities), `ui` (the web view's JSON over HTTP
//! on a store of 100 000 runs and one run of 10 000 events; SQLite stores only),
//! `grown` (`latency` and `throughput` on a store already holding 100 000
//! closed seed runs; file stores only).
//! `--scenario messages`
//! selects `signals`, `queries` and `updates`.

mod scenarios;

use std::process::Command;

const SCENARIOS: [&str; 15] = [
    "latency",
    "throughput",
    "activities",
    "fanout",
    "replay",
    "memory",
    "recovery",
    "signals",
    "queries",
    "updates",
    "children",
    "chains",
    "local",
    "ui",
    "grown",
];
/// What `--scenario messages` selects.
const MESSAGES: [&str; 3] = ["signals", "queries", "updates"];
const STORES: [&str; 6] = ["full", "normal", "memory", "pg1", "pg2", "pg4"];

const USAGE: &str =
    "usage: weft-bench [--runs N] [--scale X] [--scenario NAME]... [--store full|normal|memory|pg1|pg2|pg4]...
scenarios: latency throughput activities fanout replay memory recovery signals queries updates children chains local ui grown
          (messages: signals queries updates)";

/// Reads the command line; an error names the argument at fault.
fn parse_args(
    args: &[String],
    runs: &mut usize,
    scale: &mut f64,
    scenarios: &mut Vec<String>,
    stores: &mut Vec<String>,
) -> Result<(), String> {
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let value = it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--runs" => *runs = value?.parse().ok().filter(|n| *n > 0).ok_or("--runs takes a number above 0")?,
            "--scale" => {
                *scale = value?.parse().ok().filter(|x: &f64| *x > 0.0).ok_or("--scale takes a number above 0")?
            }
            "--scenario" if value.as_deref().is_ok_and(|v| v == "messages") => {
                scenarios.extend(MESSAGES.iter().map(|s| s.to_string()))
            }
            "--scenario" if SCENARIOS.contains(&value.as_deref().map_err(Clone::clone)?.as_str()) => {
                scenarios.push(value?.clone())
            }
            "--store" if STORES.contains(&value.as_deref().map_err(Clone::clone)?.as_str()) => {
                stores.push(value?.clone())
            }
            "--scenario" | "--store" => return Err(format!("unknown {arg} {}", value?)),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--worker") {
        scenarios::worker(&args[1], &args[2]);
        return;
    }
    if args.first().map(String::as_str) == Some("--child") {
        let (scenario, store, scale) = (&args[1], &args[2], args[3].parse().expect("scale"));
        let dir = std::env::temp_dir().join(format!("weft-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("bench dir");
        let figures = scenarios::run(scenario, store, scale, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        println!("{}", figures.iter().map(f64::to_string).collect::<Vec<_>>().join(" "));
        return;
    }
    let mut runs = 3;
    let mut scale = 1.0_f64;
    let (mut scenarios, mut stores) = (Vec::new(), Vec::new());
    if let Err(message) = parse_args(&args, &mut runs, &mut scale, &mut scenarios, &mut stores) {
        eprintln!("weft-bench: {message}\n{USAGE}");
        std::process::exit(2);
    }
    if scenarios.is_empty() {
        scenarios = SCENARIOS.iter().map(|s| s.to_string()).collect();
    }
    if stores.is_empty() {
        stores = STORES.iter().map(|s| s.to_string()).collect();
    }
    let exe = std::env::current_exe().expect("own path");
    println!("# weft-bench: median of {runs} runs (min..max), scale {scale}");
    for scenario in &scenarios {
        // samples[store][run]: the stores alternate within each round of runs.
        let mut samples: Vec<Vec<Vec<f64>>> = vec![Vec::new(); stores.len()];
        for _ in 0..runs {
            for (store, samples) in stores.iter().zip(&mut samples) {
                let out = Command::new(&exe)
                    .args(["--child", scenario, store, &scale.to_string()])
                    .output()
                    .expect("run a child");
                assert!(out.status.success(), "{scenario}/{store} failed: {}", String::from_utf8_lossy(&out.stderr));
                let line = String::from_utf8_lossy(&out.stdout);
                samples.push(line.split_whitespace().map(|v| v.parse().expect("a figure")).collect());
            }
        }
        for (store, samples) in stores.iter().zip(&samples) {
            println!("{}", scenarios::describe(scenario, store, samples));
        }
    }
}
