/// Makes new session ids from the operating system's CSPRNG.
///
/// `SystemRandomNumberGenerator` reads `getrandom(2)` on Linux and `arc4random` on Apple platforms,
/// both cryptographically secure; two 64-bit draws give the 128 bits of the random part.
public struct SessionIDGenerator: Sendable {
    /// The node's `jvmRoute`, appended to every id it makes (`nil`: none).
    public var jvmRoute: String?

    /// Creates a generator.
    /// - Parameter jvmRoute: the engine's `jvmRoute`; must satisfy ``SessionID/isJvmRoute(_:)``.
    public init(jvmRoute: String? = nil) {
        self.jvmRoute = jvmRoute
    }

    /// A new id with a fresh random part, on `nodeID` (if the store encodes node ids).
    public func makeID(nodeID: String? = nil) -> SessionID {
        SessionID(random: Self.makeRandomPart(), nodeID: nodeID, jvmRoute: jvmRoute)
    }

    /// The next id of the session now called `id` (``Session/changeSessionId()``, a login): a
    /// fresh random part, the same store node, this node's route (or `id`'s when it has none).
    func next(after id: SessionID) -> SessionID {
        SessionID(random: Self.makeRandomPart(), nodeID: id.nodeID, jvmRoute: jvmRoute ?? id.jvmRoute)
    }

    /// 32 upper-case hex characters from 128 CSPRNG bits.
    public static func makeRandomPart() -> String {
        var rng = SystemRandomNumberGenerator()
        let high = rng.next() as UInt64
        let low = rng.next() as UInt64
        return String(unsafeUninitializedCapacity: 32) { buffer in
            let digits: StaticString = "0123456789ABCDEF"
            digits.withUTF8Buffer { hex in
                for i in 0..<16 {
                    let shift = UInt64(60 - 4 * i)
                    buffer[i] = hex[Int((high >> shift) & 0xF)]
                    buffer[16 + i] = hex[Int((low >> shift) & 0xF)]
                }
            }
            return 32
        }
    }
}
