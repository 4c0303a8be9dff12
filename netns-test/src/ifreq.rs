//! The `struct ifreq` that the snapshot's and the capture's interface
//! ioctls take.

/// An `ifreq` naming interface `name` (the rest zero), or `None` for a
/// name too long for the kernel.
pub(crate) fn named(name: &str) -> Option<libc::ifreq> {
    if name.len() >= libc::IFNAMSIZ {
        return None;
    }
    // SAFETY: ifreq is plain data, for which all zeroes is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (to, from) in request.ifr_name.iter_mut().zip(name.bytes()) {
        *to = from as libc::c_char;
    }
    Some(request)
}
