/// Whether a released session stays in this process's memory between requests, as the primary
/// copy (``ManagerConfiguration/residency``).
///
/// A resident session is served with no store operation at all and written to the store only
/// when it must leave memory (``ManagerConfiguration/residentSessionLimit``). That is right only
/// when no other process writes this context's keys: otherwise another node's change would be
/// missed. Residency also needs a single store node and no ``ManagerConfiguration/sessionAttributeFilter``
/// (the store lacks the filtered attributes, so a resident copy would keep them for a while, then
/// lose them); where those do not hold, every policy means ``storeOnly``.
public enum SessionResidency: Sendable, Hashable {
    /// Resident when the store says it lives in this process (``SessionStore/isProcessLocal``: the
    /// embedded memory store), store only otherwise (Redis, memcached). The default.
    case automatic
    /// Resident, whatever the store: for a shared store that only this process writes.
    case resident
    /// Every request reads the store; nothing stays in memory after a session's last request
    /// (msm's non-sticky mode).
    case storeOnly
}
