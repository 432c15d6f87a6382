//! Generates the native runner of every built-in workload from this crate's
//! `Cargo.toml`: adding a built-in workload is one dependency line there.

use std::fmt::Write as _;
use std::path::PathBuf;

#[path = "table.rs"]
mod table;

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let manifest = dir.join("Cargo.toml");
    println!("cargo:rerun-if-changed={}", manifest.display());
    let mut out =
        String::from("/// Every built-in workload's name and native runner, in table order.\n");
    out.push_str("pub const NATIVES: &[(&str, NativeRun)] = &[\n");
    for b in table::builtin_workloads(&manifest) {
        println!(
            "cargo:rerun-if-changed={}",
            b.dir.join("plugin.toml").display()
        );
        writeln!(out, "    ({:?}, {}::NATIVE_RUN),", b.name, b.krate).unwrap();
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    std::fs::write(out_dir.join("natives.rs"), out).unwrap();
}
