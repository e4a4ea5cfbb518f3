//! Marked pipes (Unix): descriptors opened where freed ones may be reused,
//! each holding 16 marker bytes, later checked to hold exactly those (nobody
//! else read or wrote them) and closed.

/// A pipe (`[read end, write end]`) and the 16 bytes written into it.
pub type MarkedPipe = ([libc::c_int; 2], [u8; 16]);

/// Opens one pipe per marker and writes the marker's 16 bytes into it.
pub fn open(markers: impl IntoIterator<Item = [u8; 16]>) -> Vec<MarkedPipe> {
    markers
        .into_iter()
        .map(|marker| {
            let mut p = [-1 as libc::c_int; 2];
            // SAFETY: a valid 2-int array.
            assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0, "pipe");
            // SAFETY: writes 16 bytes from a local into our pipe.
            let n = unsafe { libc::write(p[1], marker.as_ptr().cast(), 16) };
            assert_eq!(n, 16, "pipe write");
            (p, marker)
        })
        .collect()
}

/// Asserts that each pipe holds exactly its marker (read without blocking),
/// then closes both its ends. A failure names `ctx`, the pipe, and `what`
/// (what else may have read or written it).
pub fn assert_intact_and_close(pipes: Vec<MarkedPipe>, ctx: &str, what: &str) {
    for (p, marker) in pipes {
        let mut got = [0u8; 64];
        // SAFETY: reads at most 64 bytes into a local, without blocking
        // (the pipe holds what was written to it).
        let n = unsafe {
            libc::fcntl(p[0], libc::F_SETFL, libc::O_NONBLOCK);
            libc::read(p[0], got.as_mut_ptr().cast(), got.len())
        };
        assert_eq!(
            (n, &got[..n.max(0) as usize]),
            (16, &marker[..]),
            "{ctx}: pipe {p:?} {what}"
        );
        // SAFETY: our pipe, closed once.
        unsafe {
            libc::close(p[0]);
            libc::close(p[1]);
        }
    }
}
