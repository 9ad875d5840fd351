import NIOCore

extension ByteBuffer {
    /// Writes `number` as decimal ASCII digits (with a leading `-` when negative), without the
    /// `String` that interpolation would allocate: the store protocols put lengths and expiry times
    /// in text into every command.
    /// - Returns: the number of bytes written.
    @discardableResult
    package mutating func writeDecimal(_ number: Int) -> Int {
        var written = 0
        if number < 0 { written += writeInteger(UInt8(ascii: "-")) }
        let magnitude = number.magnitude
        var divisor: UInt = 1
        while magnitude / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            written += writeInteger(UInt8(ascii: "0") + UInt8(magnitude / divisor % 10))
            divisor /= 10
        }
        return written
    }

    /// How many bytes ``writeDecimal(_:)`` writes for `number`.
    package static func decimalLength(_ number: Int) -> Int {
        var length = number < 0 ? 2 : 1
        var rest = number.magnitude
        while rest >= 10 {
            rest /= 10
            length += 1
        }
        return length
    }
}
