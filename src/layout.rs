//! The compile-time layout tables.
//!
//! Every struct of the crate carries one table, written beside its definition
//! with `layout!`: its size, its alignment and the offset of
//! every field, one column per architecture of the Windows SDK (x86, x86_64,
//! aarch64), with the values of `../shared/reference/icmp-api.md` §2.3 — the
//! SDK's, cross-checked with clang `*-pc-windows-msvc`. The table is a
//! `const` assertion, so `cargo check --target T` fails on any drift.
//!
//! A `-` marks a cell where the SDK does not define the struct. Other
//! architectures (the Unix backend's hosts) use the column of their pointer
//! width: the structs hold only 1-, 2- and 4-byte integers and pointers, so
//! x86 describes every 32-bit target and x86_64 every 64-bit one.

/// The column of the layout tables that applies to the target being built.
// Used only inside `const _` items, which the dead-code lint of Rust 1.85
// does not see into.
#[allow(dead_code)]
pub(crate) const COLUMN: usize = if cfg!(target_arch = "x86") {
    0
} else if cfg!(target_arch = "x86_64") {
    1
} else if cfg!(target_arch = "aarch64") {
    2
} else if core::mem::size_of::<usize>() == 8 {
    1
} else {
    0
};

/// A cell of a layout table: a number, or `-` where the SDK has no value.
macro_rules! layout_cell {
    (-) => {
        usize::MAX
    };
    ($v:literal) => {
        $v
    };
}

pub(crate) use layout_cell;

/// Checks one layout table at compile time: each row is (what is checked,
/// its value on this target, its cells); panics, naming the row, on the first
/// row whose value differs from this target's cell.
///
/// One call per table rather than one `assert!` per row: the same
/// comparisons and messages, for 43% fewer rustc instructions (every
/// dependent compiles these tables; issue 8, item 19).
#[allow(dead_code)]
pub(crate) const fn check(rows: &[(&str, usize, [usize; 3])]) {
    let mut i = 0;
    while i < rows.len() {
        if rows[i].1 != rows[i].2[COLUMN] {
            panic!("{}", rows[i].0);
        }
        i += 1;
    }
}

/// Asserts, at compile time, a struct's layout against its table.
///
/// ```text
/// layout!(NAME {
///     //            x86 x86_64 aarch64
///     size:          28, 40, 40;
///     align:          4,  8,  8;
///     Field:          0,  0,  0;
///     Outer.Inner:   24, 32, 32;
/// });
/// ```
macro_rules! layout {
    ($ty:ident {
        size: $s0:tt, $s1:tt, $s2:tt;
        align: $a0:tt, $a1:tt, $a2:tt;
        $($($field:ident).+ : $o0:tt, $o1:tt, $o2:tt;)*
    }) => {
        const _: () = $crate::layout::check(&[
            (
                concat!("layout table: size of ", stringify!($ty)),
                core::mem::size_of::<$ty>(),
                [$crate::layout::layout_cell!($s0), $crate::layout::layout_cell!($s1), $crate::layout::layout_cell!($s2)],
            ),
            (
                concat!("layout table: alignment of ", stringify!($ty)),
                core::mem::align_of::<$ty>(),
                [$crate::layout::layout_cell!($a0), $crate::layout::layout_cell!($a1), $crate::layout::layout_cell!($a2)],
            ),
            $((
                concat!("layout table: offset of ", stringify!($ty), ".", stringify!($($field).+)),
                core::mem::offset_of!($ty, $($field).+),
                [$crate::layout::layout_cell!($o0), $crate::layout::layout_cell!($o1), $crate::layout::layout_cell!($o2)],
            ),)*
        ]);
    };
}
pub(crate) use layout;
