//! Several real processes, each with its own `CacheService` (the real component)
//! over one PostgreSQL database (`pg-coherence run`): no lost update among
//! read-modify-write increments and settings/data keys, every change delivered, no
//! stale read once delivered, and no on-shutdown write-back over a newer row.

use crate::common;

use std::process::Command;

#[test]
fn several_processes_lose_no_update_read_nothing_stale_and_clobber_nothing() {
    let Some(url) = common::pg_url() else {
        return;
    };
    let out = Command::new(env!("CARGO_BIN_EXE_pg-coherence"))
        .args(["run", "--url", &url, "--processes", "3", "--seconds", "1"])
        .args(["--ops", "150", "--probes", "20"])
        .args(["--schema", &format!("t_procs_{}", std::process::id())])
        .arg("--wasm")
        .arg(common::wasm_path())
        .output()
        .expect("run pg-coherence");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pg-coherence failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("lost increments: 0, lost keys: 0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("120/120 changes delivered (rows, chat settings, user data), stale reads after delivery: 0"),
        "{stdout}"
    );
    assert!(stdout.contains("clobbered rows: 0"), "{stdout}");
    assert!(
        stdout.contains("written at close: 20 and 20 (of 20 each"),
        "{stdout}"
    );
    println!("{stdout}");
}
