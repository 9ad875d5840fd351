/// The random part of a ``SessionID`` as 128 bits: what identifies a session on this node.
///
/// Active sessions are filed under it rather than under the whole id, because the other parts of an
/// id change while the session stays the same: a relocation to another store node changes the node
/// id and a takeover by another app node the jvmRoute. A request that still sends the old id then
/// finds the same instance as the request that changed it (msm #282), and a change re-files nothing.
/// Two words instead of the 32-character string: hashing and comparing it costs no allocation.
struct SessionRandomKey: Hashable, Sendable {
    let high: UInt64
    let low: UInt64
}

extension SessionRandomKey {
    /// The key of a validated random part (32 upper-case hex characters, as both ``SessionID``
    /// initialisers check).
    init(hex bytes: some Sequence<UInt8>) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var index = 0
        for byte in bytes {
            guard index < SessionID.randomLength else { break }
            let nibble = UInt64(byte <= UInt8(ascii: "9") ? byte &- UInt8(ascii: "0") : byte &- UInt8(ascii: "A") &+ 10)
            if index < 16 { high = high << 4 | nibble } else { low = low << 4 | nibble }
            index += 1
        }
        self.init(high: high, low: low)
    }
}
