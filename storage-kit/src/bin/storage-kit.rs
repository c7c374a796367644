//! `storage-kit -- PROGRAM [ARGS...]`: runs the storage kit over a storage that
//! PROGRAM serves on its stdin and stdout (the protocol of
//! `cache_storage_kit::remote`), and prints the names of the cases run as a
//! JSON array. A failing case panics with its name: exit status 101.

use clap::Parser;

/// Runs the storage kit over a storage another program serves.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The server program, then its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let Some((program, rest)) = args.command.split_first() else {
        return Err(std::io::Error::other("no server program given"));
    };
    let mut backend = cache_storage_kit::remote::RemoteBackend::spawn(program, rest)?;
    let ran = cache_storage_kit::run(&mut backend);
    println!("{}", serde_json::Value::from(ran));
    Ok(())
}
