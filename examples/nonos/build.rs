//! build.rs: compiles the C post-quantum library in pqclean/ (the PQClean stand-in) with clang
//! into a static library the kernel links, and assembles the PVH boot stub (src/boot.S). No
//! external crates (crates.io is not needed): clang and llvm-ar are run with std::process::Command.
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const C_SOURCES: [&str; 3] = ["pqclean/fips202.c", "pqclean/poly.c", "pqclean/selftest.c"];

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| panic!("cannot run {:?}: {}", cmd, e));
    if !status.success() {
        panic!("{:?} failed with {}", cmd, status);
    }
}

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let cc = env::var("NONOS_CC").unwrap_or_else(|_| "clang".to_string());
    let ar = env::var("NONOS_AR").unwrap_or_else(|_| "llvm-ar".to_string());
    let opt = if env::var("PROFILE").map(|p| p == "release").unwrap_or(false) { "-O2" } else { "-O1" };
    // The kernel's target: bare x86_64, no red zone, no SSE/MMX/x87 (soft-float), no PIC.
    let flags = [
        "--target=x86_64-unknown-none-elf", "-ffreestanding", "-fno-builtin", "-nostdlib", "-fno-pic", "-fno-stack-protector",
        "-mno-red-zone", "-mno-sse", "-mno-sse2", "-mno-mmx", "-mno-80387", "-mcmodel=kernel", "-std=c11", "-Wall", "-Wextra", "-Werror", "-g", opt,
    ];
    // CFLAGS from the environment (the cc crate's convention): kiln's cargo step puts its
    // -ffile-prefix-map there, so the checkout path stays out of the C objects' debug info.
    let env_flags: Vec<String> = env::var("CFLAGS").unwrap_or_default().split_whitespace().map(String::from).collect();
    let mut objects = Vec::new();
    for src in C_SOURCES {
        println!("cargo:rerun-if-changed={}", src);
        let obj = out.join(Path::new(src).file_name().unwrap()).with_extension("o");
        run(Command::new(&cc).args(flags).args(&env_flags).arg("-Ipqclean").arg("-c").arg(src).arg("-o").arg(&obj));
        objects.push(obj);
    }
    println!("cargo:rerun-if-changed=pqclean/pqclean.h");
    let lib = out.join("libpqclean.a");
    let _ = std::fs::remove_file(&lib);
    run(Command::new(&ar).arg("crs").arg(&lib).args(&objects));
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=pqclean");

    // The PVH entry is only referenced by its ELF note, so it is linked as an object, not from an archive.
    println!("cargo:rerun-if-changed=src/boot.S");
    let boot = out.join("boot.o");
    // clang 14 ignores -ffile-prefix-map for assembly: a relative name and compilation dir instead.
    run(Command::new(&cc).args(["--target=x86_64-unknown-none-elf", "-fdebug-compilation-dir=.", "-c", "src/boot.S", "-o"]).arg(&boot));
    println!("cargo:rustc-link-arg-bins={}", boot.display());
    println!("cargo:rerun-if-env-changed=NONOS_CC");
    println!("cargo:rerun-if-env-changed=CFLAGS");
    println!("cargo:rerun-if-env-changed=NONOS_AR");
}
