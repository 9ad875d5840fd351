import Logging
import NIOCore
import NIOPosix
import SessionManager
import SessionStoreNIO

/// Opens connections to one Redis server: TCP with no delay, hiredis's reader, the pipeline
/// handler, then `AUTH` and `SELECT` before the first command.
enum RedisServerConnector {
    /// A pool of connections to `url` (opened on first use).
    static func pool(_ url: RedisURL, configuration: StoreClientConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) -> NodeConnectionPool<RedisValue> {
        NodeConnectionPool(node: url.description, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger) { eventLoop, timeout in
            try await connect(url, on: eventLoop, timeout: timeout)
        }
    }

    static func connect(_ url: RedisURL, on eventLoop: any EventLoop, timeout: Duration) async throws -> StoreConnection<RedisValue> {
        let connection: StoreConnection<RedisValue>
        do {
            connection = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(TimeAmount(timeout))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: url.host, port: url.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = PipelineHandler<RedisValue>()
                        try channel.pipeline.syncOperations.addHandler(RedisReplyDecoder())
                        try channel.pipeline.syncOperations.addHandler(handler)
                        return StoreConnection(channel: channel, handler: handler)
                    }
                }
        } catch {
            throw StoreClientError(.connectFailed, "cannot connect to Redis at \(url): \(error)", underlying: error)
        }
        let channel = connection.channel
        do {
            let allocator = channel.allocator
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
        } catch {
            try? await channel.close()
            throw error
        }
        return connection
    }
}
