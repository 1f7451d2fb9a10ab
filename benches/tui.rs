//! Workbench benchmarks.
//!
//! 1. Frame render time for a 50,000-line highlighted diff (160×48, scrolling a page per frame
//!    so fresh chunks keep being highlighted), next to the same frames drawn without syntax
//!    colors (the baseline) in the same run; p50/p99/max are printed (target p99 < 8 ms).
//! 2. Token-to-frame latency: from a streamed delta entering the select loop to the first frame
//!    that shows it, through the real loop and its frame coalescing, next to the loop's frame
//!    interval.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use ai_tools::codegen::diff::{Backend, FileInput, unified_diff};
use ai_tools::orchestrator::{Event, Handle};
use ai_tools::review::{patchset, view as rview};
use ai_tools::task::relpath::RelPath;
use ai_tools::task::state::TaskState;
use ai_tools::ui::tui::app::{App, Pane};
use ai_tools::ui::tui::theme::{ColorDepth, Theme};
use ai_tools::ui::tui::{FRAME, run_loop, view};
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const LINES: usize = 50_000;

fn big_diff_app(depth: ColorDepth) -> App {
    let mut a = App::new(Theme::load("dark", depth).unwrap());
    a.on_event(&Event::FileMaterialized { path: "pkg/big.py".into(), action: "modify".into(), bytes: 0, lines: LINES });
    // A 50k-line file with a change every 10 lines (replaced, added, kept), diffed by our own
    // diff writer and listed by the review engine; a third of the hunks rejected.
    let (mut old, mut new) = (String::new(), String::new());
    for n in 0..LINES {
        match n % 10 {
            0 => {
                old.push_str(&format!("    total_{n} = compute(price, count_{n}) + tax  # old\n"));
                new.push_str(&format!("    total_{n} = compute(price, amount_{n}) + tax  # new\n"));
                new.push_str(&format!("    log.info(\"computed %s\", total_{n})\n"));
            }
            3 => {
                let l = format!("def handler_{n}(request: Request) -> Response:\n");
                old.push_str(&l);
                new.push_str(&l);
            }
            _ => {
                let l = format!("    value_{n} = {{\"key\": [{n}, {}, 'text']}}\n", n * 7);
                old.push_str(&l);
                new.push_str(&l);
            }
        }
    }
    let path = RelPath::new("pkg/big.py").unwrap();
    let mut inputs = [FileInput {
        path: &path,
        old: Some(old.as_bytes()),
        new: Some(new.as_bytes()),
        old_mode: 0o644,
        new_mode: 0o644,
    }];
    let (bytes, _) = unified_diff(&mut inputs, Backend::Imara).unwrap();
    let patch = patchset::parse(&bytes).unwrap();
    let mut st = TaskState::default();
    for (i, id) in patch.ids().enumerate() {
        if i % 3 == 0 {
            st.hunks.insert(id.to_owned(), false);
        }
    }
    a.set_files(&rview::files(&patch, &st));
    a.focus = Pane::Diff;
    a
}

fn percentiles(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q) as usize];
    (p(0.5), p(0.99), v[v.len() - 1])
}

/// Draws `frames` frames scrolling a page each; returns the frame times.
fn scroll_frames(a: &mut App, frames: usize) -> Vec<Duration> {
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let rows = a.diffs["pkg/big.py"].rows.len();
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames {
        a.diff_cursor = (i * 37) % rows;
        let s = Instant::now();
        t.draw(|f| view::draw(a, f)).unwrap();
        times.push(s.elapsed());
    }
    times
}

fn frame_render(c: &mut Criterion) {
    let mut hl = big_diff_app(ColorDepth::TrueColor);
    let mut plain = big_diff_app(ColorDepth::None);
    // Percentiles over a long scroll (1,500 frames = 55k rows scrolled: every chunk is cold once).
    let (p50, p99, max) = percentiles(scroll_frames(&mut hl, 1_500));
    let (b50, b99, bmax) = percentiles(scroll_frames(&mut plain, 1_500));
    // As the workbench runs it: highlighting on the worker thread, frames never wait for it.
    let mut bg = big_diff_app(ColorDepth::TrueColor);
    let (redraw, mut redraws) = tokio::sync::mpsc::unbounded_channel();
    bg.hl.run_in_background(redraw);
    let (g50, g99, gmax) = percentiles(scroll_frames(&mut bg, 1_500));
    let mut ready = 0;
    while redraws.try_recv().is_ok() {
        ready += 1;
    }
    println!(
        "frame render, 50k-line diff, highlighting on the worker thread (as the workbench runs): p50 {g50:.2?} p99 {g99:.2?} max {gmax:.2?} ({ready} chunks highlighted meanwhile)"
    );
    println!(
        "frame render, 50k-line diff, highlighted inline (every frame waits for new chunks): p50 {p50:.2?} p99 {p99:.2?} max {max:.2?}"
    );
    println!("frame render, 50k-line diff, baseline without syntax colors: p50 {b50:.2?} p99 {b99:.2?} max {bmax:.2?}");
    println!(
        "ratio highlighted/baseline: p50 {:.2}x p99 {:.2}x",
        p50.as_secs_f64() / b50.as_secs_f64(),
        p99.as_secs_f64() / b99.as_secs_f64()
    );
    let mut g = c.benchmark_group("frame_render_50k_line_diff");
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let rows = hl.diffs["pkg/big.py"].rows.len();
    let mut i = 0usize;
    g.bench_function("highlighted (warm cache)", |b| {
        b.iter(|| {
            i += 1;
            hl.diff_cursor = (i * 37) % rows.min(4_000);
            t.draw(|f| view::draw(&mut hl, f)).unwrap();
        })
    });
    let mut j = 0usize;
    g.bench_function("baseline: no syntax colors", |b| {
        b.iter(|| {
            j += 1;
            plain.diff_cursor = (j * 37) % rows.min(4_000);
            t.draw(|f| view::draw(&mut plain, f)).unwrap();
        })
    });
    g.finish();
}

fn token_to_frame(_c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let samples: Vec<Duration> = rt.block_on(async {
        let (handle, _cmds, _bus): (Handle, _, _) = Handle::detached();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
        let (_key_tx, key_rx) = tokio::sync::mpsc::unbounded_channel::<std::io::Result<crossterm::event::Event>>();
        let input = Box::pin(futures::stream::unfold(key_rx, |mut r| async move { r.recv().await.map(|x| (x, r)) }));
        let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
        let mut app = App::new(Theme::load("dark", ColorDepth::TrueColor).unwrap());
        app.on_event(&Event::WaveStarted { wave: 1, files: vec!["a.py".into()] });
        app.on_event(&Event::FileStarted { path: "a.py".into(), wave: 1 });
        app.focus = Pane::Diff;
        let sent: std::sync::Arc<std::sync::Mutex<Option<(String, Instant)>>> = Default::default();
        let latencies: std::sync::Arc<std::sync::Mutex<Vec<Duration>>> = Default::default();
        let (s2, l2) = (sent.clone(), latencies.clone());
        let feeder = tokio::spawn(async move {
            for i in 0..300 {
                let marker = format!("tok{i:04}");
                *s2.lock().unwrap() = Some((marker.clone(), Instant::now()));
                tx.send(Event::FileDelta { path: "a.py".into(), text: format!("{marker}\n") }).unwrap();
                // Irregular gaps, like a model's token stream.
                tokio::time::sleep(Duration::from_micros(3_000 + (i * 7919 % 9_000) as u64)).await;
            }
            drop(tx);
        });
        let (s3, l3) = (sent.clone(), l2.clone());
        run_loop(&mut term, &mut app, &handle, rx, input, move |t| {
            let mut g = s3.lock().unwrap();
            if let Some((m, at)) = g.as_ref()
                && format!("{}", t.backend()).contains(m.as_str())
            {
                l3.lock().unwrap().push(at.elapsed());
                *g = None;
            }
        })
        .await
        .unwrap();
        feeder.await.unwrap();
        latencies.lock().unwrap().clone()
    });
    let n = samples.len();
    let (p50, p99, max) = percentiles(samples);
    println!("token-to-frame latency over {n} deltas: p50 {p50:.2?} p99 {p99:.2?} max {max:.2?}");
    println!(
        "ratio to the frame interval ({FRAME:?}): p50 {:.2}x p99 {:.2}x",
        p50.as_secs_f64() / FRAME.as_secs_f64(),
        p99.as_secs_f64() / FRAME.as_secs_f64()
    );
}

criterion_group!(benches, frame_render, token_to_frame);
criterion_main!(benches);
