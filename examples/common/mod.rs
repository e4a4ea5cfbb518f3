//! What `examples/ping.rs` and `examples/tracert.rs` share (each declares
//! `mod common;`; a folder module, so it is no example target of its own):
//! the common part of the command line, name resolution, the request
//! payload, status texts, and [`send::Sender`], the one place the examples
//! call the ICMP API, with the pitfall each step avoids next to it.

use std::net::{IpAddr, ToSocketAddrs};
use std::process::ExitCode;

/// The address family asked for with `-4` / `-6`, or of the resolved host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// What to do after parsing: show the help, or run with the options.
pub enum Command<O> {
    Help,
    Run(O),
}

/// The parsed command line as `main` needs it: the options, or the exit
/// code after the help (0, on stdout) or an argument error (2, with the
/// usage, on stderr) was printed.
pub fn options<O>(
    program: &str,
    usage: &str,
    parsed: Result<Command<O>, String>,
) -> Result<O, ExitCode> {
    match parsed {
        Ok(Command::Run(opts)) => Ok(opts),
        Ok(Command::Help) => {
            println!("{usage}");
            Err(ExitCode::SUCCESS)
        }
        Err(msg) => {
            eprintln!("{program}: {msg}\n\n{usage}");
            Err(ExitCode::from(2))
        }
    }
}

/// The command line's shared part, read as the Windows tools do: flags start
/// with `-` or `/` and are case-insensitive, one positional argument is the
/// host, and `-4` / `-6` force the address family (not both).
pub struct Args<I> {
    args: I,
    /// The positional argument's name in "Only one ... may be given".
    host_word: &'static str,
    /// The positional arguments, in order.
    hosts: Vec<String>,
    /// Whether more than one positional argument is accepted (`ping_many`).
    many: bool,
    family: Option<Family>,
}

impl<I: Iterator<Item = String>> Args<I> {
    /// Reads `args` (without the program name); `host_word` names the
    /// positional argument in the error for a second one.
    pub fn new(args: I, host_word: &'static str) -> Self {
        Self {
            args,
            host_word,
            hosts: Vec::new(),
            many: false,
            family: None,
        }
    }

    /// As [`new`](Self::new), but any number of positional arguments is
    /// accepted (read them with [`finish_many`](Self::finish_many)).
    #[allow(dead_code, reason = "used by ping_many only")]
    pub fn new_many(args: I, host_word: &'static str) -> Self {
        Self {
            many: true,
            ..Self::new(args, host_word)
        }
    }

    /// The next flag the caller handles: lowercase, without its `-` or `/`,
    /// and the argument as written (for "Bad option"). The host and
    /// `-4` / `-6` are taken here.
    pub fn next_flag(&mut self) -> Result<Option<(String, String)>, String> {
        for arg in self.args.by_ref() {
            let flag = match arg.strip_prefix('-').or_else(|| arg.strip_prefix('/')) {
                Some(f) if !f.is_empty() => f.to_ascii_lowercase(),
                _ => {
                    if let (false, Some(first)) = (self.many, self.hosts.first()) {
                        return Err(format!(
                            "Only one {} may be given ({first:?}, {arg:?}).",
                            self.host_word
                        ));
                    }
                    self.hosts.push(arg);
                    continue;
                }
            };
            if flag == "4" || flag == "6" {
                let f = if flag == "4" { Family::V4 } else { Family::V6 };
                if self.family.is_some_and(|g| g != f) {
                    return Err("Options -4 and -6 cannot be used together.".into());
                }
                self.family = Some(f);
                continue;
            }
            return Ok(Some((flag, arg)));
        }
        Ok(None)
    }

    /// The value of `flag`, the next argument: a number in `min..=max`, with
    /// the Windows tools' messages.
    pub fn number<T>(&mut self, flag: &str, min: T, max: T) -> Result<T, String>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let value = self
            .args
            .next()
            .ok_or_else(|| format!("Value must be supplied for option {flag}."))?;
        match value.parse::<T>() {
            Ok(v) if v >= min && v <= max => Ok(v),
            _ => Err(format!(
                "Bad value for option {flag}, valid range is from {min} to {max} (got {value:?})."
            )),
        }
    }

    /// After the last flag: the family asked for and the host, or
    /// `missing` when no host was given.
    #[allow(dead_code, reason = "used by ping and tracert, not by ping_many")]
    pub fn finish(self, missing: &str) -> Result<(Option<Family>, String), String> {
        let host = self.hosts.into_iter().next().ok_or(missing)?;
        Ok((self.family, host))
    }

    /// After the last flag, for [`new_many`](Self::new_many): the family
    /// asked for and the positional arguments (at least one), or `missing`.
    #[allow(dead_code, reason = "used by ping_many only")]
    pub fn finish_many(self, missing: &str) -> Result<(Option<Family>, Vec<String>), String> {
        if self.hosts.is_empty() {
            return Err(missing.into());
        }
        Ok((self.family, self.hosts))
    }
}

/// Resolves `host` (an IP literal, or a name through the system resolver) to
/// an address of the requested family. Returns the address and its scope id
/// (IPv6 link-local zones).
pub fn resolve(host: &str, family: Option<Family>) -> Option<(IpAddr, u32)> {
    let wanted = |ip: &IpAddr| match family {
        None => true,
        Some(Family::V4) => ip.is_ipv4(),
        Some(Family::V6) => ip.is_ipv6(),
    };
    // An IP literal is used as is, never looked up.
    if let Ok(ip) = host.parse::<IpAddr>() {
        return wanted(&ip).then_some((ip, 0));
    }
    let addrs: Vec<_> = (host, 0).to_socket_addrs().ok()?.collect();
    // Like ping.exe and tracert.exe without -4/-6, prefer IPv4 when the name
    // has both.
    let pick = |want_v4: bool| {
        addrs
            .iter()
            .find(|a| a.is_ipv4() == want_v4 && wanted(&a.ip()))
    };
    let addr = pick(true).or_else(|| pick(false))?;
    let scope = match addr {
        std::net::SocketAddr::V6(a) => a.scope_id(),
        std::net::SocketAddr::V4(_) => 0,
    };
    Some((addr.ip(), scope))
}

/// The description of an `IP_STATUS` or Win32 error code.
pub fn status_text(code: u32) -> String {
    match icmp_sys::helper::status_description(code) {
        Some(text) if code != 0 => text.into(),
        _ => format!("Error code {code}."),
    }
}

/// The bytes `ping.exe` sends: `abcdefghijklmnopqrstuvw` repeated.
pub fn payload(size: u16) -> Vec<u8> {
    (b'a'..=b'w').cycle().take(size.into()).collect()
}

/// The result of one echo request.
#[cfg_attr(not(icmp_api), allow(dead_code))]
#[derive(Clone, Copy, Debug)]
pub enum Outcome {
    /// A reply of the API from `from`: the host's echo reply (`IP_SUCCESS`),
    /// or an ICMP error report from the reporting node, with its status: a
    /// router's `IP_TTL_EXPIRED_TRANSIT` (IPv6's `IP_HOP_LIMIT_EXCEEDED` is
    /// the same code, 11013), unreachable, ...
    Reply {
        from: IpAddr,
        status: u32,
        rtt_ms: u32,
        /// The reply's TTL (IPv4 only: the IPv6 reply carries none).
        #[allow(dead_code, reason = "read by ping, not by tracert")]
        ttl: Option<u8>,
        /// Bytes echoed; differs from the request if the host truncated it.
        #[allow(dead_code, reason = "read by ping, not by tracert")]
        bytes: usize,
        /// Whether the echoed bytes equal the request.
        #[allow(dead_code, reason = "read by ping, not by tracert")]
        data_ok: bool,
    },
    /// No reply within the timeout.
    TimedOut,
    /// The send itself failed: an `IP_STATUS` or a Win32 error code.
    Failed(u32),
}

/// Explains an `ERROR_ACCESS_DENIED` from the Unix backend (see
/// `icmp_sys::unix`): no ping socket and no raw socket were permitted.
#[cfg(unix)]
#[allow(dead_code, reason = "used by ping and ping_many, not by tracert")]
pub fn print_permission_help(program: &str) {
    let forced = std::env::var("ICMP_SYS_SOCKET").ok();
    eprintln!(
        "{program}: no permission to send ICMP echo requests (ERROR_ACCESS_DENIED, error 5)."
    );
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range")
            .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|e| format!("unreadable: {e}"));
        // SAFETY: no preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        eprintln!(
            "{program}: sending needs a ping socket, allowed when one of the process's groups is \
             in net.ipv4.ping_group_range (here \"{range}\"; uid {uid}, gid {gid}), \
             or a raw socket (root or CAP_NET_RAW)."
        );
        eprintln!("{program}: fix, one of:");
        eprintln!(
            "{program}:   sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"   (all groups)"
        );
        eprintln!("{program}:   sudo setcap cap_net_raw+ep <this {program} binary>");
        eprintln!("{program}:   run it as root");
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    eprintln!(
        "{program}: ICMP sockets need root on this OS ({}): run it as root.",
        std::env::consts::OS
    );
    if let Some(mode) = forced {
        eprintln!(
            "{program}: note: ICMP_SYS_SOCKET={mode} limits the socket kinds tried \
             (raw: raw sockets only; dgram: ping sockets only); unset it to try both."
        );
    }
}

// The ICMP functions exist on Windows (iphlpapi.dll) and, through the crate's
// Unix backend, on Linux, macOS and FreeBSD: the same code runs on all of them.
#[cfg(icmp_api)]
pub mod send {
    use super::{Family, Outcome};
    use core::ptr::{null, null_mut};
    use icmp_sys::helper::{self, IcmpHandle, ReplyBuffer};
    use icmp_sys::{
        IP_OPTION_INFORMATION, IP_REQ_TIMED_OUT, IP_STATUS_BASE, Icmp6SendEcho2, IcmpSendEcho,
        MAX_IP_STATUS,
    };
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use std::process::ExitCode;

    /// A reply buffer size big enough for one reply to a request of up to
    /// `max_request` bytes, IPv4 or IPv6, including an ICMP error's quoted
    /// bytes and reply options (the helper's sizes leave that room). Each
    /// call passes only the size the helper computes for its request.
    #[allow(dead_code, reason = "used by ping and tracert, not by ping_many")]
    pub const fn buffer_size(max_request: u16) -> usize {
        let v4 = helper::reply_buffer_size(max_request);
        let v6 = helper::reply6_buffer_size(max_request);
        if v4 > v6 { v4 } else { v6 }
    }

    /// Opens an IPv4 (`IcmpCreateFile`) or IPv6 (`Icmp6CreateFile`) handle,
    /// owned: closed with `IcmpCloseHandle` when dropped. On failure prints
    /// why, prefixed with `program`, and returns the error code.
    pub fn open_handle(program: &str, family: Family) -> Result<IcmpHandle, u32> {
        // Pitfall avoided: failure is INVALID_HANDLE_VALUE, not null, and
        // such a value must never reach IcmpCloseHandle (Wine 8.0 crashes on
        // it): IcmpHandle checks both and never holds one.
        let (opened, function) = match family {
            Family::V4 => (IcmpHandle::open_v4(), "IcmpCreateFile"),
            Family::V6 => (IcmpHandle::open_v6(), "Icmp6CreateFile"),
        };
        opened.inspect_err(|&code| {
            eprintln!("{program}: {function} failed with error {code}.");
            if code == icmp_sys::ERROR_CALL_NOT_IMPLEMENTED {
                eprintln!("{program}: IPv6 echo is not implemented here (Wine 8.0 lacks it).");
            }
        })
    }

    /// An open ICMP handle and its reply buffer of `BUF` bytes
    /// ([`buffer_size`] of the largest request).
    #[allow(dead_code, reason = "used by ping and tracert, not by ping_many")]
    pub struct Sender<const BUF: usize> {
        /// Closed when the `Sender` is dropped.
        handle: IcmpHandle,
        family: Family,
        /// The example's name, for its messages.
        program: &'static str,
        /// Pitfall avoided: the buffer must be aligned for `ICMP_ECHO_REPLY`
        /// (`ReplyBuffer` is 8-aligned; a `Vec<u8>` is not) and must not move
        /// between the call and reading the replies, whose `Data` are
        /// absolute pointers into it: boxed, it never moves.
        buf: Box<ReplyBuffer<BUF>>,
    }

    #[allow(dead_code, reason = "used by ping and tracert, not by ping_many")]
    impl<const BUF: usize> Sender<BUF> {
        /// Opens an IPv4 (`IcmpCreateFile`) or IPv6 (`Icmp6CreateFile`)
        /// handle for the family of `addr`. On failure prints why, prefixed
        /// with `program`, and returns exit code 1.
        pub fn open(program: &'static str, addr: IpAddr) -> Result<Self, ExitCode> {
            let family = if addr.is_ipv4() {
                Family::V4
            } else {
                Family::V6
            };
            let handle = open_handle(program, family).map_err(|_| ExitCode::from(1))?;
            Ok(Self {
                handle,
                family,
                program,
                buf: Box::new(ReplyBuffer::new()),
            })
        }

        /// Sends one echo request carrying `data` to `addr`, with TTL (hop
        /// limit) `ttl` or the system's, and waits for the first reply, at
        /// most `timeout_ms`.
        pub fn echo(
            &mut self,
            addr: IpAddr,
            scope_id: u32,
            data: &[u8],
            ttl: Option<u8>,
            timeout_ms: u32,
        ) -> Outcome {
            // The caller checked the size (ping's -l is at most 65500).
            let size = u16::try_from(data.len()).expect("request size fits RequestSize");
            // Options are sent only when a TTL is asked for: NULL
            // RequestOptions means the system's defaults (Ttl 0 is "default"
            // on Wine, unverified on Windows, so it is never sent). The
            // other fields are 0 (TOS 0, no flags, no options).
            let options = ttl.map(|ttl| IP_OPTION_INFORMATION {
                Ttl: ttl,
                ..Default::default()
            });
            let options_ptr = options.as_ref().map_or(null(), |o| o as *const _);
            // A stale reply from the previous request must not be read back.
            self.buf.as_bytes_mut().fill(0);
            match (self.family, addr) {
                (Family::V4, IpAddr::V4(ip)) => self.echo4(ip, data, size, options_ptr, timeout_ms),
                (Family::V6, IpAddr::V6(ip)) => {
                    self.echo6(ip, scope_id, data, size, options_ptr, timeout_ms)
                }
                _ => unreachable!("the handle was opened for the address's family"),
            }
        }

        fn echo4(
            &mut self,
            ip: Ipv4Addr,
            data: &[u8],
            size: u16,
            options: *const IP_OPTION_INFORMATION,
            timeout_ms: u32,
        ) -> Outcome {
            // Pitfall avoided: the real minimum (40 + size on x86_64) works on
            // modern Windows and Wine only; the helper's size also leaves room
            // for an ICMP error and reply options, as the docs ask.
            let reply_size = helper::reply_buffer_size(size);
            // SAFETY: the handle is open; `data` holds `size` bytes; the
            // buffer is aligned and at least `reply_size` bytes; `options` is
            // null or points to a live IP_OPTION_INFORMATION. The call is
            // synchronous: nothing is used after it returns.
            let count = unsafe {
                IcmpSendEcho(
                    self.handle.as_raw(),
                    // Pitfall avoided: network byte order as laid out in
                    // memory; `u32::from(ip)` would be reversed on x86.
                    helper::ipaddr(ip),
                    data.as_ptr().cast(),
                    size,
                    options,
                    self.buf.as_mut_ptr(),
                    reply_size as u32,
                    timeout_ms,
                )
            };
            // Read the error first: any later call may overwrite it.
            let error = if count == 0 { helper::last_error() } else { 0 };
            // Pitfall avoided: `Data`, `DataSize`, `Options` are read through
            // the helper, which checks they lie inside the buffer. With a
            // count of 0, reply[0] is still read (see `outcome`).
            let first = First::v4(&self.buf.as_bytes()[..reply_size], count);
            outcome(self.program, count, error, first, data)
        }

        fn echo6(
            &mut self,
            ip: Ipv6Addr,
            scope_id: u32,
            data: &[u8],
            size: u16,
            options: *const IP_OPTION_INFORMATION,
            timeout_ms: u32,
        ) -> Outcome {
            let reply_size = helper::reply6_buffer_size(size);
            // Pitfall avoided: Windows SOCKADDR_IN6 (family 23 on every host
            // OS); the unspecified source lets the stack choose.
            let source = helper::sockaddr_in6(Ipv6Addr::UNSPECIFIED, 0);
            let destination = helper::sockaddr_in6(ip, scope_id);
            // SAFETY: as in `echo4`; no Event and no ApcRoutine make the call
            // synchronous, so the addresses, data and buffer are not used
            // after it returns.
            let count = unsafe {
                Icmp6SendEcho2(
                    self.handle.as_raw(),
                    null_mut(),
                    None,
                    null(),
                    &source,
                    &destination,
                    data.as_ptr().cast(),
                    size,
                    options,
                    self.buf.as_mut_ptr(),
                    reply_size as u32,
                    timeout_ms,
                )
            };
            let error = if count == 0 { helper::last_error() } else { 0 };
            // Read with the helper, not Icmp6ParseReplies (absent on Wine 8.0).
            // The reply has no DataSize: its data is the request's length.
            // The IPv6 reply carries no TTL.
            let first = First::v6(&self.buf.as_bytes()[..reply_size], size);
            outcome(self.program, count, error, first, data)
        }
    }

    /// The first reply in the buffer after a send, of either family.
    pub struct First<'a> {
        pub from: IpAddr,
        pub status: u32,
        pub rtt_ms: u32,
        pub ttl: Option<u8>,
        pub data: &'a [u8],
    }

    impl<'a> First<'a> {
        /// The first IPv4 reply of `buf` (`count` replies, at least one
        /// read), checked to lie inside it.
        pub fn v4(buf: &'a [u8], count: u32) -> Result<Self, helper::ReplyError> {
            helper::Replies::new(buf, count.max(1))
                .and_then(|r| r.get(0).expect("room for one reply was checked"))
                .map(|reply| First {
                    from: reply.address().into(),
                    status: reply.status(),
                    rtt_ms: reply.round_trip_time(),
                    ttl: Some(reply.ttl()),
                    data: reply.data,
                })
        }

        /// The IPv6 reply of `buf` to a request of `size` bytes (it has no
        /// data size of its own, and no TTL).
        pub fn v6(buf: &'a [u8], size: u16) -> Result<Self, helper::ReplyError> {
            helper::Reply6::new(buf, size).map(|reply| First {
                from: reply.address().into(),
                status: reply.status(),
                rtt_ms: reply.round_trip_time(),
                ttl: None,
                data: reply.data,
            })
        }
    }

    /// The outcome of a send of `request` that returned `count` (and, when
    /// 0, left `error` in GetLastError), its first reply read as `first`.
    /// Shared by the synchronous `Sender` and `ping_many`'s asynchronous
    /// completions (there `count` is `IcmpParseReplies`' result).
    pub fn outcome(
        program: &str,
        count: u32,
        error: u32,
        first: Result<First<'_>, helper::ReplyError>,
        request: &[u8],
    ) -> Outcome {
        if count == 0 {
            if error == IP_REQ_TIMED_OUT {
                return Outcome::TimedOut;
            }
            // Some Windows versions are reported to return 0 for an ICMP
            // error (TTL expired included), with the status in GetLastError
            // and reply[0] filled: show the reporting node when it agrees.
            if is_icmp_error(error)
                && let Ok(reply) = &first
                && reply.status == error
                && !reply.from.is_unspecified()
            {
                return reply_outcome(reply, request);
            }
            return Outcome::Failed(error);
        }
        match first {
            // Pitfall avoided: a count of 1 is not an echo reply by itself:
            // an ICMP error report (unreachable, TTL expired) is one reply
            // whose Status says so, from the reporting node.
            Ok(reply) => reply_outcome(&reply, request),
            Err(e) => {
                eprintln!("{program}: unreadable reply: {e}");
                Outcome::Failed(icmp_sys::IP_GENERAL_FAILURE)
            }
        }
    }

    /// The `Outcome::Reply` of `reply` to `request`.
    fn reply_outcome(reply: &First<'_>, request: &[u8]) -> Outcome {
        Outcome::Reply {
            from: reply.from,
            status: reply.status,
            rtt_ms: reply.rtt_ms,
            ttl: reply.ttl,
            bytes: reply.data.len(),
            data_ok: request.get(..reply.data.len()) == Some(reply.data),
        }
    }

    /// Whether `code` is an `IP_STATUS` an ICMP error message produces (not a
    /// timeout, a general failure, or a Win32 error code).
    fn is_icmp_error(code: u32) -> bool {
        code > IP_STATUS_BASE && code < MAX_IP_STATUS && code != IP_REQ_TIMED_OUT
    }
}
