//! Reserve + settle, with 0 (the baseline), 1, 100 and 10,000 requests waiting.
//!
//! The waiters are large requests that cannot fit for a minute; the measured request
//! is small, fits now and passes them without delaying the head. It is settled with
//! a full refund so the lanes look the same at every iteration.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use mistral_ratelimit::{Demand, Instant, LaneSpec, Limiter, LimiterConfig, Reservation, Ticket, Waiter};

fn loaded(waiters: usize) -> (Limiter, Option<Ticket>, Vec<Waiter>) {
    let limiter = Limiter::new(LimiterConfig {
        lanes: vec![LaneSpec::requests_per_second(1_000_000_000), LaneSpec::tokens_per_minute(1_000_000)],
        ..LimiterConfig::default()
    });
    let mut held = None;
    let mut queue = Vec::new();
    if waiters > 0 {
        let Ok(Reservation::Ready(t)) = limiter.reserve(Demand::tokens(900_000), Instant::ZERO) else { unreachable!() };
        held = Some(t);
        for _ in 0..waiters {
            let Ok(Reservation::Queued(w)) = limiter.reserve(Demand::tokens(200_000), Instant::ZERO) else {
                unreachable!()
            };
            queue.push(w);
        }
    }
    (limiter, held, queue)
}

fn reserve_settle(c: &mut Criterion) {
    let mut group = c.benchmark_group("reserve+settle");
    let now = Instant::ZERO + Duration::from_secs(1);
    for waiters in [0usize, 1, 100, 10_000] {
        let (limiter, _held, _queue) = loaded(waiters);
        group.bench_function(BenchmarkId::new("waiters", waiters), |b| {
            b.iter(|| match limiter.reserve(black_box(Demand::tokens(10)), now) {
                Ok(Reservation::Ready(t)) => black_box(t.settle(0, now)),
                other => panic!("the small request should pass: {other:?}"),
            })
        });
    }
    group.finish();
}

criterion_group!(benches, reserve_settle);
criterion_main!(benches);
