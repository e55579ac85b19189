//! argon2id at the configured parameters (m = 19 MiB, t = 2, p = 1): time per hash and per
//! verification on this machine, median of 20. Part of `make bench`.

use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), shared::Error> {
    let mut hashes = vec![];
    let mut verifies = vec![];
    let mut phc = String::new();
    for _ in 0..20 {
        let t = Instant::now();
        phc = shared::password::hash("a benchmark password")?;
        hashes.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        shared::password::verify("a benchmark password", &phc)?;
        verifies.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "argon2id m={} KiB t={} p={}: hash median {:.1} ms, verify median {:.1} ms ({})",
        shared::password::MEMORY_KIB,
        shared::password::ITERATIONS,
        shared::password::PARALLELISM,
        median(hashes),
        median(verifies),
        &phc[..30]
    );
    Ok(())
}
