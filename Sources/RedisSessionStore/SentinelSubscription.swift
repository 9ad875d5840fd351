import NIOCore
import NIOPosix
import SessionManager

/// A subscription to one channel of a Redis Sentinel (`SUBSCRIBE`), on a connection of its own:
/// a subscribed connection carries only messages, so it cannot share a pipelined pool connection.
enum SentinelSubscription {
    /// Connects, subscribes, and calls `onMessage` with each message's payload until the connection
    /// ends (it throws then) or the task is cancelled.
    static func run(
        _ sentinel: RedisAddress,
        channel name: String,
        eventLoopGroup: any EventLoopGroup,
        onMessage: @escaping @Sendable (String) -> Void
    ) async throws {
        let channel = try await ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(.seconds(1))
            .connect(host: sentinel.host, port: sentinel.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RedisReplyDecoder())
                    return try NIOAsyncChannel<RedisValue, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(RedisCommand.encode("SUBSCRIBE", name, allocator: channel.channel.allocator))
                for try await reply in inbound {
                    // ["message", channel, payload]; the subscription's confirmation is skipped.
                    guard case .array(let fields) = reply, fields.count == 3, case .bulk(let kind) = fields[0], kind == Array("message".utf8),
                        case .bulk(let payload) = fields[2]
                    else { continue }
                    onMessage(String(decoding: payload, as: UTF8.self))
                }
            }
        } onCancel: {
            channel.channel.close(promise: nil)
        }
    }
}
