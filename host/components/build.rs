//! Points the library at the Rust that `owbench-guests`' build script generated (the
//! embedded built-ins and the fixture paths), handed over through its `links` metadata.

fn main() {
    let generated = std::env::var("DEP_OWBENCH_GUESTS_GENERATED")
        .expect("owbench-guests' build script names the directory of its generated Rust");
    println!("cargo:rustc-env=OWBENCH_GUESTS_GENERATED={generated}");
}
