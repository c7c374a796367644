//! The component build's last step, without needing `wasm-tools` installed:
//!
//! - `componentize <core.wasm> <out.wasm>` wraps a core module that carries
//!   wit-bindgen's component-type section into a validated component;
//! - `componentize wit <component.wasm>` prints the component's world as WIT,
//!   like `wasm-tools component wit`.

use anyhow::{bail, Context, Result};
use std::path::Path;
use wit_component::{ComponentEncoder, DecodedWasm, WitPrinter};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd, component] if cmd == "wit" => print_wit(Path::new(component)),
        [input, output] => encode(Path::new(input), Path::new(output)),
        _ => bail!("usage: componentize <core-module.wasm> <component.wasm> | componentize wit <component.wasm>"),
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn encode(input: &Path, output: &Path) -> Result<()> {
    let module = read(input)?;
    let component = ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .with_context(|| format!("{} has no usable component-type section", input.display()))?
        .encode()
        .context("encoding the component")?;
    std::fs::write(output, &component).with_context(|| format!("writing {}", output.display()))?;
    println!(
        "componentize: {} ({} bytes) -> {} ({} bytes)",
        input.display(),
        module.len(),
        output.display(),
        component.len()
    );
    Ok(())
}

fn print_wit(path: &Path) -> Result<()> {
    let decoded = wit_component::decode(&read(path)?)
        .with_context(|| format!("{} is not a component", path.display()))?;
    let DecodedWasm::Component(resolve, _) = &decoded else {
        bail!("{} is a WIT package, not a component", path.display());
    };
    let mut printer = WitPrinter::default();
    printer.print(resolve, decoded.package(), &[])?;
    print!("{}", printer.output);
    Ok(())
}
