import SessionManager

/// Connection settings shared by the Redis and memcached stores.
public struct StoreClientConfiguration: Sendable {
    /// Deadline of every command, from the moment it is sent (msm `operationTimeout`). A command
    /// without a reply by then fails with ``StoreClientError/Code/timeout`` and its connection is
    /// closed, so that a late reply can never be taken for the reply of a later command.
    /// Default: 1000 ms (msm's).
    public var operationTimeout: Duration
    /// Deadline for opening a connection, including its handshake (AUTH, SELECT). Default: 1000 ms.
    public var connectTimeout: Duration
    /// Connections per event loop and node; commands are pipelined on each. Default: 1, so that all
    /// the commands of one event-loop tick share one write and their replies one read.
    public var connectionsPerEventLoop: Int
    /// Wait before the first reconnect attempt after a failed one; doubled on each further failure
    /// up to ``maximumBackoff``, with ±25 % jitter so nodes of a cluster do not reconnect in step.
    /// Default: 50 ms.
    public var initialBackoff: Duration
    /// Longest wait between reconnect attempts. Default: 2 s.
    public var maximumBackoff: Duration
    /// Trust and identity for nodes reached over TLS (`rediss://`, `memcacheds://`, …); whether a
    /// node uses TLS is its URL's business. Default: full verification against the system's CAs.
    public var tls: StoreTLS

    /// Creates a configuration.
    public init(
        operationTimeout: Duration = .milliseconds(1000),
        connectTimeout: Duration = .milliseconds(1000),
        connectionsPerEventLoop: Int = 1,
        initialBackoff: Duration = .milliseconds(50),
        maximumBackoff: Duration = .seconds(2),
        tls: StoreTLS = StoreTLS()
    ) {
        self.tls = tls
        self.operationTimeout = operationTimeout
        self.connectTimeout = connectTimeout
        self.connectionsPerEventLoop = max(1, connectionsPerEventLoop)
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
    }

    /// The wait before reconnect attempt number `failures` (1 = after the first failure), jittered.
    func backoff(afterFailures failures: Int) -> Duration {
        var wait = initialBackoff
        for _ in 1..<max(1, min(failures, 20)) where wait < maximumBackoff { wait *= 2 }
        wait = min(wait, maximumBackoff)
        return wait * Double.random(in: 0.75...1.25)
    }
}
