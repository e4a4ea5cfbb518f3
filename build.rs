//! Build script.
//!
//! Without the `bindgen` feature it does nothing (no dependency, no work).
//!
//! With it (maintainers only), it runs bindgen over `wrapper.h` for the
//! Windows target being built and writes `icmp_sys_bindings.rs` (the
//! declarations, every function forced to `extern "system"`) and
//! `icmp_sys_names.rs` (the names of every generated item) into `OUT_DIR`;
//! `src/verify.rs` then proves at compile time that the shipped declarations
//! agree with them. Headers:
//! - `*-windows-gnu`: the mingw-w64 headers, located through the cross
//!   compiler (`<arch>-w64-mingw32-gcc -E -v`, or `ICMP_SYS_MINGW_CC`);
//! - `*-windows-msvc` on a Windows host: the Windows SDK, found by clang;
//! - `*-windows-msvc` from another host: not supported (clang's MSVC mode
//!   rejects the mingw-w64 headers' intrinsics); the build fails and says so.
//!   Check the `-gnu` target instead: the layouts are the same.
//!
//! `ICMP_SYS_BINDGEN_OUT=<file>` also copies the generated bindings there,
//! for a maintainer to diff. Extra clang arguments: `BINDGEN_EXTRA_CLANG_ARGS`.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // `cfg(icmp_api)`: the target has the nine functions (Windows, or the
    // crate's Unix backend). The one place that lists those platforms; the
    // library, its examples and tests all use this cfg.
    println!("cargo::rustc-check-cfg=cfg(icmp_api)");
    // `cfg(icmp_sys_fuzz)`: set by the fuzz harness only (`fuzz/run`,
    // `fuzz/coverage`, through RUSTFLAGS); makes `unix::reply` public for it.
    println!("cargo::rustc-check-cfg=cfg(icmp_sys_fuzz)");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(
        os.as_str(),
        "windows" | "linux" | "android" | "macos" | "ios" | "freebsd"
    ) {
        println!("cargo::rustc-cfg=icmp_api");
    }
    #[cfg(feature = "bindgen")]
    generate::run();
}

#[cfg(feature = "bindgen")]
mod generate {
    use std::env;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    fn var(name: &str) -> String {
        env::var(name).unwrap_or_default()
    }

    /// The system include directories of a mingw-w64 cross compiler, except
    /// GCC's own (clang brings its builtin headers).
    fn mingw_includes(cc: &str) -> Option<Vec<PathBuf>> {
        let out = Command::new(cc)
            .args(["-E", "-v", "-x", "c", "-"])
            .stdin(std::process::Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stderr);
        let mut dirs = Vec::new();
        let mut inside = false;
        for line in text.lines() {
            if line.starts_with("#include <...> search starts here:") {
                inside = true;
            } else if line.starts_with("End of search list.") {
                break;
            } else if inside {
                let dir = PathBuf::from(line.trim());
                let dir = dir.canonicalize().unwrap_or(dir);
                if !dir.components().any(|c| c.as_os_str() == "gcc") {
                    dirs.push(dir);
                }
            }
        }
        dirs.retain(|d| d.join("windows.h").exists() || d.join("ipexport.h").exists());
        (!dirs.is_empty()).then_some(dirs)
    }

    pub fn run() {
        for v in [
            "ICMP_SYS_BINDGEN_OUT",
            "ICMP_SYS_MINGW_CC",
            "BINDGEN_EXTRA_CLANG_ARGS",
            "LIBCLANG_PATH",
        ] {
            println!("cargo:rerun-if-env-changed={v}");
        }
        println!("cargo:rerun-if-changed=wrapper.h");
        println!("cargo:rerun-if-changed=src/ipexport.rs");
        println!("cargo:rerun-if-changed=src/icmpapi.rs");
        println!("cargo::rustc-check-cfg=cfg(icmp_sys_c_has, values(any()))");
        println!("cargo::rustc-check-cfg=cfg(icmp_sys_headers, values(\"sdk\", \"mingw-w64\"))");
        let out_dir = PathBuf::from(var("OUT_DIR"));
        if var("CARGO_CFG_TARGET_OS") != "windows" {
            println!(
                "cargo:warning=feature `bindgen`: target {} is not Windows; nothing to generate or verify",
                var("TARGET")
            );
            return;
        }
        let arch = match var("CARGO_CFG_TARGET_ARCH").as_str() {
            "x86" => "i686",
            "x86_64" => "x86_64",
            "aarch64" => "aarch64",
            other => panic!("feature `bindgen`: unsupported Windows architecture {other}"),
        };
        let env_ = var("CARGO_CFG_TARGET_ENV");
        let host_is_windows = var("HOST").contains("windows");
        let mut args: Vec<String> = Vec::new();
        let headers = if env_ == "msvc" && host_is_windows {
            "sdk"
        } else {
            "mingw-w64"
        };
        println!("cargo::rustc-cfg=icmp_sys_headers=\"{headers}\"");
        if env_ == "msvc" && !host_is_windows {
            panic!(
                "feature `bindgen`: target {} needs the Windows SDK (a Windows host); \
                 from this host check {arch}-pc-windows-gnu instead (mingw-w64 headers)",
                var("TARGET")
            );
        }
        if env_ == "msvc" {
            // The Windows SDK, located by clang itself.
            args.push(format!("--target={arch}-pc-windows-msvc"));
        } else {
            let cc = env::var("ICMP_SYS_MINGW_CC").unwrap_or_else(|_| {
                // aarch64 mingw-w64 compilers are rare; the headers are the
                // same for every architecture, so fall back to x86_64's.
                let a = if Command::new(format!("{arch}-w64-mingw32-gcc"))
                    .arg("--version")
                    .output()
                    .is_ok()
                {
                    arch
                } else {
                    "x86_64"
                };
                format!("{a}-w64-mingw32-gcc")
            });
            let dirs = mingw_includes(&cc).unwrap_or_else(|| {
                panic!(
                    "feature `bindgen`: no mingw-w64 headers found through `{cc}` for target {}; \
                     install gcc-mingw-w64 or set ICMP_SYS_MINGW_CC",
                    var("TARGET")
                )
            });
            args.push(format!("--target={arch}-w64-windows-gnu"));
            for d in dirs {
                args.push("-isystem".into());
                args.push(d.display().to_string());
            }
        }
        let bindings = bindgen::Builder::default()
            .header("wrapper.h")
            .clang_args(&args)
            .allowlist_file(r".*[/\\]ipexport\.h")
            .allowlist_file(r".*[/\\]icmpapi\.h")
            .allowlist_type("IO_STATUS_BLOCK|PIO_APC_ROUTINE|SOCKADDR_IN6|PSOCKADDR_IN6|IN6_ADDR")
            .allowlist_var("ICMP_SYS_C_.*")
            .override_abi(bindgen::Abi::System, ".*")
            .use_core()
            .ctypes_prefix("core::ffi")
            .layout_tests(false)
            .generate_comments(false)
            .merge_extern_blocks(true)
            .rust_edition(bindgen::RustEdition::Edition2024)
            .formatter(bindgen::Formatter::Prettyplease)
            .generate()
            .unwrap_or_else(|e| {
                panic!("feature `bindgen`: bindgen failed on wrapper.h with {args:?}: {e}")
            });
        let text = bindings.to_string();
        let path = out_dir.join("icmp_sys_bindings.rs");
        std::fs::write(&path, &text).expect("write bindings");
        write_names(&text, &out_dir.join("icmp_sys_names.rs"));
        write_shipped_names(&out_dir.join("icmp_sys_shipped.rs"));
        let copy = env::var("ICMP_SYS_BINDGEN_OUT").unwrap_or_default();
        if !copy.is_empty() {
            std::fs::write(&copy, &text).expect("write ICMP_SYS_BINDGEN_OUT");
            println!(
                "cargo:warning=feature `bindgen`: bindings for {} written to {copy}",
                var("TARGET")
            );
        }
    }

    /// Writes `GENERATED_NAMES`: every item bindgen emitted.
    fn write_names(text: &str, path: &Path) {
        let mut names = Vec::new();
        let mut in_extern = false;
        for line in text.lines() {
            // Top-level items, and the declarations of the extern block.
            if line.starts_with("unsafe extern ") || line.starts_with("extern ") {
                in_extern = true;
            } else if line.starts_with('}') {
                in_extern = false;
            }
            let top = !line.starts_with(' ');
            if !top && !in_extern {
                continue;
            }
            let line = line.trim_start();
            for prefix in [
                "pub const ",
                "pub type ",
                "pub struct ",
                "pub union ",
                "pub fn ",
                "pub static ",
            ] {
                if let Some(rest) = line.strip_prefix(prefix) {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
        }
        for n in &names {
            println!("cargo::rustc-cfg=icmp_sys_c_has=\"{n}\"");
        }
        let mut out = String::from(
            "/// Every item bindgen generated from wrapper.h.\npub const GENERATED_NAMES: &[&str] = &[\n",
        );
        for n in &names {
            out.push_str(&format!("    {n:?},\n"));
        }
        out.push_str("];\n");
        std::fs::write(path, out).expect("write names");
    }

    /// Writes `SHIPPED_NAMES`: every public item the crate declares in
    /// `src/ipexport.rs` and `src/icmpapi.rs` (a text scan), so that the
    /// check can prove each one was compared.
    fn write_shipped_names(path: &Path) {
        let mut names: Vec<String> = Vec::new();
        let ident = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        };
        for file in ["src/ipexport.rs", "src/icmpapi.rs"] {
            let text = std::fs::read_to_string(file).expect("read shipped source");
            let mut in_status = false;
            for line in text.lines() {
                let t = line.trim_start();
                let mut found = None;
                for prefix in ["pub const ", "pub type ", "pub struct ", "pub union "] {
                    if let Some(rest) = t.strip_prefix(prefix) {
                        found = Some(ident(rest));
                    }
                }
                if t.starts_with("ip_status! {") {
                    in_status = true;
                } else if in_status && t.starts_with('}') {
                    in_status = false;
                } else if in_status && !t.starts_with("///") && t.contains(" => ") {
                    found = Some(ident(t));
                }
                if t.starts_with("windows_link::link!") {
                    if let Some(i) = t.find(" fn ") {
                        found = Some(ident(&t[i + 4..]));
                    }
                }
                if let Some(n) = found {
                    if !n.is_empty() && !names.contains(&n) {
                        names.push(n);
                    }
                }
            }
        }
        let mut out = String::from(
            "/// Every public item of src/ipexport.rs and src/icmpapi.rs.\npub const SHIPPED_NAMES: &[&str] = &[\n",
        );
        for n in &names {
            out.push_str(&format!("    {n:?},\n"));
        }
        out.push_str("];\n");
        std::fs::write(path, out).expect("write shipped names");
    }
}
