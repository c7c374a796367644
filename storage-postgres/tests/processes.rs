//! Several real processes on one database (`pg-coherence run`): no lost update
//! among read-modify-write increments, no stale read once a change was
//! delivered, every change delivered.

mod common;

use std::process::Command;

#[test]
fn several_processes_lose_no_update_and_read_nothing_stale_after_delivery() {
    let Some(url) = common::server_url() else {
        return;
    };
    let out = Command::new(env!("CARGO_BIN_EXE_pg-coherence"))
        .args([
            "run",
            "--url",
            &url,
            "--processes",
            "3",
            "--seconds",
            "1",
            "--ops",
            "150",
            "--probes",
            "30",
        ])
        .args(["--schema", &format!("t_procs_{}", std::process::id())])
        .output()
        .expect("run pg-coherence");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pg-coherence failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("450 acknowledged increments"), "{stdout}");
    assert!(stdout.contains("lost updates: 0"), "{stdout}");
    assert!(
        stdout.contains("60/60 changes delivered, stale reads after delivery: 0"),
        "{stdout}"
    );
    println!("{stdout}");
}
