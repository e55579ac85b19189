//! The harness's floor for init: a process that asks the runtime API for work as soon as it starts
//! and does nothing else. Its init (median, as bench.py measures a function's) is what any process
//! costs here: process creation on this machine and the local runtime API's time to note the call.
//! Built by bench.py with rustc alone; no dependencies.
use std::io::{Read, Write};

fn main() {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        std::process::exit(2);
    };
    let Ok(mut s) = std::net::TcpStream::connect(&api) else {
        std::process::exit(3);
    };
    let _ = s.set_nodelay(true);
    let _ = write!(
        s,
        "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {api}\r\n\r\n"
    );
    // Waits for the event, then for the bench to end the process.
    let mut buf = [0u8; 4096];
    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
}
