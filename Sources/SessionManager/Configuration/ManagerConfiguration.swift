/// How a context's sessions are managed: msm's `<Manager>` attributes, typed, under msm's names.
///
/// Set the properties you need on a default value, then let ``validate()`` check the
/// combinations (the configuration loader and `HTTPServer` do; a program that makes a
/// ``SessionManager`` itself calls it): a configuration built in Swift is refused exactly as the
/// same settings in a file are.
public struct ManagerConfiguration: Sendable {
    /// Requests whose path matches have no session (see ``RequestURIIgnorePattern``). Default: none.
    public var requestUriIgnorePattern: RequestURIIgnorePattern?
    /// Idle seconds after which a session expires (msm `maxInactiveInterval`; the context's session
    /// timeout otherwise). Default: 1800 (30 minutes, Tomcat's default).
    public var maxInactiveInterval: Int
    /// Seconds after its creation at which a session is gone, whatever its activity (ours, not
    /// msm's): the store keeps it for the smaller of the idle timeout and the remaining lifetime,
    /// and a copy past it is not used. `changeSessionId()`, a login and a takeover keep the
    /// creation time. Default: `nil`, no absolute lifetime.
    public var maxSessionLifetime: Int?
    /// At most this many sessions per logged-in principal across the cluster (ours): a login
    /// beyond it follows ``principalLimitPolicy``. Atomic across nodes (the principal's index is
    /// changed by compare-and-set). Default: `nil`, unlimited.
    public var maxSessionsPerPrincipal: Int?
    /// What a login beyond ``maxSessionsPerPrincipal`` does. Default: ``PrincipalLimitPolicy/invalidateOldest``.
    public var principalLimitPolicy: PrincipalLimitPolicy = .invalidateOldest
    /// How long a resident logged-in session (sticky mode) is served from memory before its next
    /// request first asks the store whether it was invalidated elsewhere (one command, its
    /// tombstone): the safety net under the invalidation notices of stores with publish and
    /// subscribe (Redis), and the only way for memcached. Default: 5 seconds.
    public var residentRevalidationInterval: Duration = .seconds(5)
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
    public var memcachedNodes: [StoreNode]
    /// Ids of nodes used for new sessions only while no other node is available (msm
    /// `failoverNodes`). Default: none.
    public var failoverNodes: [String]
    /// msm's `sticky`. Default: `true`.
    ///
    /// - `true` (sticky): the load balancer sends each user to the node named by the `jvmRoute`
    ///   suffix of the id, and that node keeps the session in memory between requests as the
    ///   primary copy; a read-only request costs no store command, and a request that changed the
    ///   session writes it to the store (after its response, see ``sessionBackupAsync``). Another
    ///   node that gets a request for it (its node died, or the balancer moved the user) loads it
    ///   from the store and takes it over: its route in the id, a new cookie, the old key deleted.
    ///   The store is a backup: when it is down, sessions keep being served from memory.
    /// - `false` (non-sticky): the store holds the primary copy and every request reads it, so any
    ///   node can serve any request; with several nodes, each session has a backup copy on another.
    ///
    /// The embedded memory store is in this process anyway: its sessions stay resident either way
    /// (see ``residency``).
    public var sticky: Bool
    /// When a session's store copy is written (msm `sessionBackupAsync`). Default: `true`.
    ///
    /// - Sticky: `true` writes it after the response is sent (the user never waits for the store;
    ///   a node that dies right after a response loses that change: the note in the README gives
    ///   the window); `false` writes it before the response, waiting at most
    ///   ``sessionBackupTimeout``. A failed write never fails the request (memory holds the
    ///   primary copy); it marks the node down and is tried again after the next request.
    /// - Non-sticky: the backup copy on the second node is written beside the primary write, in
    ///   the same event-loop tick, so a request waits one round trip for both (msm writes after
    ///   the response, on a thread pool, which here cost a thread hop per write and 20 % of the
    ///   throughput); with `false` it is written once the primary is, waited for at most
    ///   ``sessionBackupTimeout``.
    public var sessionBackupAsync: Bool
    /// Longest wait for a store write (sticky) or a backup write (non-sticky) when
    /// ``sessionBackupAsync`` is `false`. Default: 100 ms.
    public var sessionBackupTimeout: Duration
    /// `false`: sessions live only in this process's memory and no store is used (msm `enabled`).
    /// Default: `true`.
    public var enabled: Bool
    /// `false`: the context's statistics (swift-metrics counters and timers, see README →
    /// Operations) are no-ops whatever backend the program bootstrapped (msm `enableStatistics`).
    /// The status page's node table is kept either way. Default: `true`.
    public var enableStatistics: Bool
    /// Deadline of each store command (msm `operationTimeout`). Default: 1000 ms.
    public var operationTimeout: Duration
    /// Replicas of a Redis node that must acknowledge each session write before it counts as done
    /// (Redis `WAIT n`, within three quarters of ``operationTimeout``). A write fewer replicas
    /// acknowledged fails the request (`503`) rather than be lost by a failover to a replica that
    /// did not have it. Not in msm (Redis nodes only). Default: 0 (a write is done once the master
    /// has it, as with msm).
    public var waitForReplicas: Int

    /// How the nodes that `memcachedNodes` gives as TLS (`rediss://`, `rediss-cluster://`,
    /// `rediss-sentinel://`, `memcacheds://`) are trusted and verified (see ``StoreTLS``; XML
    /// `tlsCAFile`, `tlsCertificateFile`, `tlsKeyFile`, `tlsServerName`, `tlsVerify`). Default:
    /// full verification against the system's trust store.
    public var tls: StoreTLS
    /// User name for memcached's authentication (msm `username`; `memcached -Y`), with
    /// ``password``. Redis nodes carry their login in their URL. Default: none.
    public var username: String?
    /// Password for memcached's authentication (msm `password`), with ``username``. Never logged.
    public var password: String?

    /// Which requests lock their session in the store (msm `lockingMode`, non-sticky mode only; see
    /// ``LockingMode``). Default: ``LockingMode/none``.
    ///
    /// A request that locks takes `lock:<session key>` on the session's node before it reads the
    /// session (one round trip for both), and the last request on this node that holds the session
    /// releases it after the write. Requests on this node for a session that another of its
    /// requests is locking wait in process; only one polls the store (10 ms doubling to 500 ms, for
    /// at most ``operationTimeout``). Only non-sticky sessions in a shared store lock: with
    /// a process-local store the mode has no effect, and with ``sticky`` it is refused
    /// (``validate()``).
    public var lockingMode: LockingMode
    /// How long a lock lives in the store (msm `lockExpiration`, seconds in XML): a process that
    /// dies holding a lock frees it after this long. A request still running at half of it extends
    /// its lock. Default: 5 s.
    public var lockExpiration: Duration
    /// What a request does when it cannot get its lock (see ``LockFailurePolicy``; XML
    /// `lockFailure`). Default: ``LockFailurePolicy/reject``.
    public var lockFailure: LockFailurePolicy

    /// Whether released sessions stay in memory between requests (see ``SessionResidency``).
    /// Default: ``SessionResidency/automatic`` (resident with the embedded memory store only).
    public var residency: SessionResidency

    /// Most sessions kept resident in memory between requests (see ``residency``; XML
    /// `residentSessionLimit`). A resident session is the primary copy: requests use it with no
    /// store operation at all. In sticky mode each change is also written to the store, and a full
    /// resident set evicts its least recently used session whose copy is in the store (it is
    /// loaded again when next used); with a process-local store a session is written only when it
    /// must leave memory because the limit is reached. It expires after its
    /// `maxInactiveInterval` idle. 0 turns residency off. Default: 10 000 (about 1 KB each for
    /// small sessions, measured).
    public var residentSessionLimit: Int

    /// The most sessions this context keeps in this process's memory (Tomcat `maxActiveSessions`):
    /// resident sessions and those in the embedded memory store together; a store in another
    /// process (Redis, memcached) bounds its own memory and is not counted. When the limit is
    /// reached, expired sessions are removed first; if it is still reached, creating a session
    /// fails with ``SessionManagerError/Code/tooManySessions`` (the bundled server answers `503`
    /// with `Retry-After`) and ``SessionManager/rejectedSessionCount`` grows. Existing sessions are
    /// never evicted to make room: a flood of new clients cannot log the current users out.
    /// `-1`: no limit. Default: 100 000 (about 35 MB of small sessions).
    public var maxActiveSessions: Int

    /// The default of ``maxSessionSize``: 1 MiB.
    public static let defaultMaxSessionSize = 1 << 20

    /// Creates a configuration: every `<Manager>` setting, with its default, in one call. The
    /// settings that only mean something together come in groups (``Cluster``, ``Locking``,
    /// ``Residency``), whose initialisers hold their defaults; each property is also settable
    /// alone under its msm name afterwards.
    /// Call ``validate()`` on the result (see the type's comment).
    /// - Parameters:
    ///   - cluster: the store nodes and how the store is kept in step (default: the embedded
    ///     memory store, sticky).
    ///   - locking: non-sticky locking (default: none).
    ///   - residency: what stays in this process's memory (default: automatic, 10 000 resident,
    ///     100 000 at most).
    ///   - requestUriIgnorePattern: paths that get no session (default: none).
    ///   - maxInactiveInterval: idle seconds before expiry (default 1800).
    ///   - storageKeyPrefix: prefix of every store key (default `"sm:"`).
    ///   - transcoder: session serialiser (default binary).
    ///   - sessionAttributeFilter: names of the attributes stored (default: all).
    ///   - maxSessionSize: largest encoded session written, in bytes (default 1 MiB).
    ///   - enabled: `false` keeps sessions in this process only (default `true`).
    ///   - enableStatistics: `false` makes the metrics no-ops (default `true`).
    ///   - tls: trust and identity for the TLS nodes (default: full verification, system trust).
    ///   - username: memcached authentication user (default: none).
    ///   - password: memcached authentication password (default: none).
    public init(
        cluster: Cluster = Cluster(),
        locking: Locking = Locking(),
        residency: Residency = Residency(),
        requestUriIgnorePattern: RequestURIIgnorePattern? = nil,
        maxInactiveInterval: Int = 1800,
        storageKeyPrefix: String = "sm:",
        transcoder: any SessionTranscoder = BinarySessionTranscoder(),
        sessionAttributeFilter: SessionAttributeFilter? = nil,
        maxSessionSize: Int = ManagerConfiguration.defaultMaxSessionSize,
        enabled: Bool = true,
        enableStatistics: Bool = true,
        tls: StoreTLS = StoreTLS(),
        username: String? = nil,
        password: String? = nil
    ) {
        self.tls = tls
        self.username = username
        self.password = password
        self.memcachedNodes = cluster.memcachedNodes
        self.failoverNodes = cluster.failoverNodes
        self.sticky = cluster.sticky
        self.sessionBackupAsync = cluster.sessionBackupAsync
        self.sessionBackupTimeout = cluster.sessionBackupTimeout
        self.operationTimeout = cluster.operationTimeout
        self.waitForReplicas = cluster.waitForReplicas
        self.lockingMode = locking.mode
        self.lockExpiration = locking.expiration
        self.lockFailure = locking.failure
        self.residency = residency.mode
        self.residentSessionLimit = residency.residentSessionLimit
        self.maxActiveSessions = residency.maxActiveSessions
        self.sessionAttributeFilter = sessionAttributeFilter
        self.maxSessionSize = maxSessionSize
        self.requestUriIgnorePattern = requestUriIgnorePattern
        self.maxInactiveInterval = maxInactiveInterval
        self.storageKeyPrefix = storageKeyPrefix
        self.transcoder = transcoder
        self.enabled = enabled
        self.enableStatistics = enableStatistics
    }

    /// The store nodes and how the store is kept in step with this node (see the properties of
    /// the same names).
    public struct Cluster: Sendable {
        public var memcachedNodes: [StoreNode]
        public var failoverNodes: [String]
        public var sticky: Bool
        public var sessionBackupAsync: Bool
        public var sessionBackupTimeout: Duration
        public var operationTimeout: Duration
        public var waitForReplicas: Int

        /// Creates the group; the defaults are the properties'.
        public init(
            memcachedNodes: [StoreNode] = [],
            failoverNodes: [String] = [],
            sticky: Bool = true,
            sessionBackupAsync: Bool = true,
            sessionBackupTimeout: Duration = .milliseconds(100),
            operationTimeout: Duration = .milliseconds(1000),
            waitForReplicas: Int = 0
        ) {
            self.memcachedNodes = memcachedNodes
            self.failoverNodes = failoverNodes
            self.sticky = sticky
            self.sessionBackupAsync = sessionBackupAsync
            self.sessionBackupTimeout = sessionBackupTimeout
            self.operationTimeout = operationTimeout
            self.waitForReplicas = waitForReplicas
        }
    }

    /// Non-sticky locking: ``lockingMode``, ``lockExpiration``, ``lockFailure``.
    public struct Locking: Sendable {
        public var mode: LockingMode
        public var expiration: Duration
        public var failure: LockFailurePolicy

        /// Creates the group; the defaults are the properties'.
        public init(mode: LockingMode = .none, expiration: Duration = .seconds(5), failure: LockFailurePolicy = .reject) {
            self.mode = mode
            self.expiration = expiration
            self.failure = failure
        }
    }

    /// What stays in this process's memory: ``residency``, ``residentSessionLimit``, ``maxActiveSessions``.
    public struct Residency: Sendable {
        public var mode: SessionResidency
        public var residentSessionLimit: Int
        public var maxActiveSessions: Int

        /// Creates the group; the defaults are the properties'.
        public init(mode: SessionResidency = .automatic, residentSessionLimit: Int = 10_000, maxActiveSessions: Int = 100_000) {
            self.mode = mode
            self.residentSessionLimit = residentSessionLimit
            self.maxActiveSessions = maxActiveSessions
        }
    }
}
