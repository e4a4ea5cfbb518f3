//! Compiles `probe.c` with the target's C compiler (mingw-w64 for the
//! `*-windows-gnu` targets) against the headers of `wrapper.h`, after asking
//! the same compiler which of the items the SDK has but a header may lack are
//! declared (`cfg(c_has = "NAME")`, one try-compile each).
use std::path::PathBuf;

/// Items the SDK declares that the compared headers may lack (or, for
/// `IP_NO_FURTHER_SENDS`, have in excess): their presence is the compiler's
/// answer, not an assumption. `(name, C expression that compiles iff present)`.
const OPTIONAL: &[(&str, &str)] = &[
    ("IP_OPTION_INFORMATION32", "sizeof(IP_OPTION_INFORMATION32)"),
    (
        "PIP_OPTION_INFORMATION32",
        "sizeof(PIP_OPTION_INFORMATION32)",
    ),
    ("ICMP_ECHO_REPLY32", "sizeof(ICMP_ECHO_REPLY32)"),
    ("PICMP_ECHO_REPLY32", "sizeof(PICMP_ECHO_REPLY32)"),
    ("ICMPV6_ECHO_REPLY_LH", "sizeof(ICMPV6_ECHO_REPLY_LH)"),
    ("ICMPV6_ECHO_REPLY", "sizeof(ICMPV6_ECHO_REPLY)"),
    ("PICMPV6_ECHO_REPLY_LH", "sizeof(PICMPV6_ECHO_REPLY_LH)"),
    ("PICMPV6_ECHO_REPLY", "sizeof(PICMPV6_ECHO_REPLY)"),
    ("IcmpSendEcho2Ex", "sizeof(&IcmpSendEcho2Ex)"),
    ("IP_FLAG_REVERSE", "IP_FLAG_REVERSE"),
    ("IP_NO_FURTHER_SENDS", "IP_NO_FURTHER_SENDS"),
];

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../..");
    println!("cargo:rerun-if-changed=probe.c");
    println!("cargo:rerun-if-changed=../../wrapper.h");
    println!("cargo::rustc-check-cfg=cfg(c_has, values(any()))");
    if std::env::var("CARGO_CFG_WINDOWS").is_err() {
        println!("cargo:warning=icmp-sys-c-layout: not a Windows target; nothing to compare");
        return;
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let mut defines = Vec::new();
    for (name, expr) in OPTIONAL {
        let src = out.join(format!("has_{name}.c"));
        std::fs::write(
            &src,
            format!("#include \"wrapper.h\"\nunsigned long long icmp_sys_has = (unsigned long long)({expr});\n"),
        )
        .unwrap();
        let ok = cc::Build::new()
            .include(&root)
            .file(&src)
            .cargo_metadata(false)
            .cargo_warnings(false)
            .flag("-Werror=implicit-function-declaration")
            .try_compile(&format!("has_{name}"))
            .is_ok();
        if ok {
            println!("cargo::rustc-cfg=c_has=\"{name}\"");
            defines.push(format!("HAVE_{name}"));
        }
    }
    let mut b = cc::Build::new();
    b.include(&root)
        .file("probe.c")
        .std("gnu11")
        .warnings(true)
        .extra_warnings(true)
        // `(T)-1 < (T)0` is the signedness test: always false for unsigned T.
        .flag("-Wno-type-limits")
        .warnings_into_errors(true);
    for d in &defines {
        b.define(d, None);
    }
    b.compile("icmp_sys_c_probe");
}
