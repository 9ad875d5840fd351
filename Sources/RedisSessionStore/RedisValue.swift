/// A Redis reply, converted from hiredis's `redisReply` (which is freed right after conversion).
public enum RedisValue: Sendable, Equatable {
    /// `+OK` and other status replies.
    case status(String)
    /// `-ERR …`, `-WRONGTYPE …`: the server's message.
    case error(String)
    /// `:123`.
    case integer(Int)
    /// `$…`: a binary-safe bulk string.
    case bulk([UInt8])
    /// `$-1` / `*-1`.
    case null
    /// `*…`.
    case array([RedisValue])
}
