/// Whether a released session stays in this process's memory between requests
/// (``ManagerConfiguration/residency``).
///
/// A resident session is served with no store operation at all. Two ways of keeping the store
/// in step exist: in sticky mode (``ManagerConfiguration/sticky``, with Redis or memcached) every
/// change is also written to the store, after the response, so that another app node can take the
/// session over; with a store only this process writes (the embedded memory store, or
/// ``resident``) the session is written only when it must leave memory
/// (``ManagerConfiguration/residentSessionLimit``). The second needs a single store node and no
/// ``ManagerConfiguration/sessionAttributeFilter`` (the store lacks the filtered attributes, so a
/// resident copy would keep them for a while, then lose them); where those do not hold, it means
/// ``storeOnly``.
public enum SessionResidency: Sendable, Hashable {
    /// Resident when the store says it lives in this process (``SessionStore/isProcessLocal``: the
    /// embedded memory store); for Redis and memcached resident in sticky mode (each change
    /// written to the store as well) and store only in non-sticky mode. The default.
    case automatic
    /// Resident, whatever the store, and written only when leaving memory: for a shared store
    /// that only this process writes.
    case resident
    /// Every request reads the store; nothing stays in memory after a session's last request
    /// (msm's non-sticky mode).
    case storeOnly
}
