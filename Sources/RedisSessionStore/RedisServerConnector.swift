import Logging
import NIOCore
import NIOPosix
import SessionManager
import SessionStoreNIO

/// Opens connections to one Redis server: TCP with no delay, TLS for a `rediss` URL, hiredis's
/// reader, the pipeline handler, then `AUTH`, `SELECT` and a `PING` before the first command.
enum RedisServerConnector {
    /// A pool of connections to `url` (opened on first use); `tls` is the node's (non-nil exactly
    /// when its URL is a `rediss` form, so every URL made from it is TLS too).
    static func pool(
        _ url: RedisURL,
        tls: StoreTLSClient?,
        configuration: StoreClientConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger
    ) -> NodeConnectionPool<RedisValue> {
        NodeConnectionPool(node: url.description, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger) { eventLoop, timeout in
            try await connect(url, tls: tls, on: eventLoop, timeout: timeout)
        }
    }

    /// Opens a connection, logs in, selects the database and probes with `PING` (see ``StoreConnector``).
    static func connect(_ url: RedisURL, tls: StoreTLSClient?, on eventLoop: any EventLoop, timeout: Duration) async throws -> StoreConnection<RedisValue> {
        let connector = StoreConnector(host: url.host, port: url.port, tls: tls, name: "Redis at \(url)", probe: "PING")
        return try await connector.open(on: eventLoop, timeout: timeout) { pipeline in
            try pipeline.addHandler(RedisReplyDecoder())
        } handshake: { (connection: StoreConnection<RedisValue>) in
            let allocator = connection.channel.allocator
            if let password = url.password {
                var arguments = [Array("AUTH".utf8)]
                if let user = url.user { arguments.append(Array(user.utf8)) }
                arguments.append(Array(password.utf8))
                let reply = try await connection.send(RedisCommand.encode(arguments, allocator: allocator), timeout: timeout)
                if case .error(let message) = reply {
                    throw StoreClientError(.authenticationFailed, "Redis at \(url) refused AUTH: \(message)")
                }
            }
            if url.database != 0 {
                let reply = try await connection.send(RedisCommand.encode("SELECT", String(url.database), allocator: allocator), timeout: timeout)
                if case .error(let message) = reply {
                    throw StoreClientError(.serverError, "Redis at \(url) refused SELECT \(url.database): \(message)")
                }
            }
            let reply = try await connection.send(RedisCommand.encode("PING", allocator: allocator), timeout: timeout)
            if case .error(let message) = reply {
                throw message.hasPrefix("NOAUTH")
                    ? StoreClientError(.authenticationFailed, "Redis at \(url) needs a password: \(message)")
                    : StoreClientError(.serverError, "Redis at \(url) refused PING: \(message)")
            }
        }
    }
}
