/// How a context's sessions are managed: msm's `<Manager>` attributes, typed.
///
/// Only what is implemented today is here; attributes that later work brings (stores, sticky,
/// locking, transcoders) are rejected by the configuration loader instead of being ignored.
public struct ManagerConfiguration: Sendable {
    /// Requests whose path matches have no session (see ``RequestURIIgnorePattern``). Default: none.
    public var requestUriIgnorePattern: RequestURIIgnorePattern?
    /// Idle seconds after which a session expires (msm `maxInactiveInterval`; the context's session
    /// timeout otherwise). Default: 1800 (30 minutes, Tomcat's default).
    public var maxInactiveInterval: Int
    /// Prepended to every store key, so several applications can share one store (msm
    /// `storageKeyPrefix`). Default: `"sm:"` + the context name.
    public var storageKeyPrefix: String
    /// How sessions are serialised for the store (msm `transcoderFactoryClass`, by name through
    /// ``SessionTranscoders``). Default: ``BinarySessionTranscoder``.
    public var transcoder: any SessionTranscoder
    /// Only attributes whose names match are stored (msm `sessionAttributeFilter`). Default: all.
    public var sessionAttributeFilter: SessionAttributeFilter?
    /// Largest encoded session written, in bytes; a larger one is not written (the previous copy
    /// stays in the store) and an error is logged. Default: 1 MiB.
    public var maxSessionSize: Int

    /// The store nodes (msm `memcachedNodes`): empty for the embedded memory store. With node
    /// ids (`n1:host:port,…`, also for a single node) every session id names its primary node
    /// (`<random>-<nodeId>[.<jvmRoute>]`), each session gets a backup copy on the next node, and a
    /// session whose node dies moves to another one (see ``SessionManager``).
    public var memcachedNodes: [StoreNode] = []
    /// Ids of nodes used for new sessions only while no other node is available (msm
    /// `failoverNodes`). Default: none.
    public var failoverNodes: [String] = []
    /// msm's `sticky`; `nil` when not configured. Only `false` (non-sticky: the store holds the
    /// primary copy, every request reads it) is implemented; without it a context behaves as
    /// non-sticky too, except that the embedded memory store keeps sessions resident.
    public var sticky: Bool?
    /// Backup copies are written beside the primary write, in the same event-loop tick, so a
    /// request waits one round trip for both (msm `sessionBackupAsync`; msm writes after the
    /// response, on a thread pool, which here cost a thread hop per write and 20 % of the
    /// throughput). With `false` the backup is written only once the primary is, and the request
    /// waits for it at most ``sessionBackupTimeout``. Default: `true`.
    public var sessionBackupAsync = true
    /// Longest wait for a backup write when ``sessionBackupAsync`` is `false`. Default: 100 ms.
    public var sessionBackupTimeout: Duration = .milliseconds(100)
    /// `false`: sessions live only in this process's memory and no store is used (msm `enabled`).
    /// Default: `true`.
    public var enabled = true
    /// Deadline of each store command (msm `operationTimeout`). Default: 1000 ms.
    public var operationTimeout: Duration = .milliseconds(1000)

    /// Whether released sessions stay in memory between requests (see ``SessionResidency``).
    /// Default: ``SessionResidency/automatic`` (resident with the embedded memory store only).
    public var residency: SessionResidency = .automatic

    /// Most sessions kept resident in memory between requests (see ``residency``). A resident
    /// session is the primary copy: requests use it with no store operation at all, and it is written to the store only when it must leave
    /// memory alive because the limit is reached (later requests then read it from the store). It
    /// expires after its `maxInactiveInterval` idle. 0 turns residency off. Default: 10 000.
    public var residentSessionLimit: Int = 10_000

    /// The most sessions this context keeps in this process's memory (Tomcat `maxActiveSessions`):
    /// resident sessions and those in the embedded memory store together; a store in another
    /// process (Redis, memcached) bounds its own memory and is not counted. When the limit is
    /// reached, expired sessions are removed first; if it is still reached, creating a session
    /// fails with ``SessionManagerError/Code/tooManySessions`` (the bundled server answers `503`
    /// with `Retry-After`) and ``SessionManager/rejectedSessionCount`` grows. Existing sessions are
    /// never evicted to make room: a flood of new clients cannot log the current users out.
    /// `-1`: no limit. Default: 100 000 (about 35 MB of small sessions).
    public var maxActiveSessions: Int = 100_000

    /// The default of ``maxSessionSize``: 1 MiB.
    public static let defaultMaxSessionSize = 1 << 20

    /// Creates a configuration.
    /// - Parameters:
    ///   - requestUriIgnorePattern: paths that get no session (default: none).
    ///   - maxInactiveInterval: idle seconds before expiry (default 1800).
    ///   - storageKeyPrefix: prefix of every store key (default `"sm:"`).
    ///   - transcoder: session serialiser (default binary).
    ///   - sessionAttributeFilter: names of the attributes stored (default: all).
    ///   - maxSessionSize: largest encoded session written, in bytes (default 1 MiB).
    public init(
        requestUriIgnorePattern: RequestURIIgnorePattern? = nil,
        maxInactiveInterval: Int = 1800,
        storageKeyPrefix: String = "sm:",
        transcoder: any SessionTranscoder = BinarySessionTranscoder(),
        sessionAttributeFilter: SessionAttributeFilter? = nil,
        maxSessionSize: Int = ManagerConfiguration.defaultMaxSessionSize
    ) {
        self.sessionAttributeFilter = sessionAttributeFilter
        self.maxSessionSize = maxSessionSize
        self.requestUriIgnorePattern = requestUriIgnorePattern
        self.maxInactiveInterval = maxInactiveInterval
        self.storageKeyPrefix = storageKeyPrefix
        self.transcoder = transcoder
    }
}
