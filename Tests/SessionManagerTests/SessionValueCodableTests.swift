import Foundation
import Logging
import SessionTesting
import Testing

@testable import SessionManager

@Suite(.capturedLog) struct SessionValueCodableTests {
    struct Cart: Codable, Equatable {
        enum Status: String, Codable { case open, paid }
        struct Line: Codable, Equatable {
            var sku: String
            var quantity: UInt16
            var price: Double
        }
        var owner: String?
        var lines: [Line]
        var status: Status
        var updated: Date
        var token: Data
        var tags: Set<String>
        var big: Int64
    }

    let cart = Cart(
        owner: nil,
        lines: [.init(sku: "A-1", quantity: 2, price: 9.99), .init(sku: "B", quantity: 1, price: 0.5)],
        status: .open,
        updated: Date(timeIntervalSinceReferenceDate: 12_345.678_9),
        token: Data([0, 1, 255]),
        tags: ["x"],
        big: .min
    )

    @Test func roundTripsThroughSessionValueAndTheBinaryTranscoder() throws {
        let value = try SessionValueEncoder().encode(cart)
        guard case .map(let map) = value else {
            Issue.record("a struct encodes as a map")
            return
        }
        #expect(map["updated"] == .date(cart.updated))
        #expect(map["token"] == .bytes([0, 1, 255]))
        #expect(map["status"] == .string("open"))
        #expect(try SessionValueDecoder().decode(Cart.self, from: value) == cart)

        let snapshot = SessionSnapshot(id: "x", creationTime: Date(), lastAccessedTime: Date(), maxInactiveInterval: 1, attributes: ["cart": value])
        let transcoder = BinarySessionTranscoder()
        let decoded = try transcoder.decode(try transcoder.encode(snapshot))
        #expect(try SessionValueDecoder().decode(Cart.self, from: decoded.attributes["cart"] ?? .null) == cart)
    }

    @Test func sessionHelpers() throws {
        let manager = SessionManager(configuration: .init(), store: MemorySessionStore(), logger: Logger(label: "t"))
        let session = manager.makeSession()
        try session.set("cart", encoding: cart)
        #expect(try session.get("cart", decoding: Cart.self) == cart)
        #expect(try session.get("absent", decoding: Cart.self) == nil)
        session.set("n", 3)
        #expect(throws: DecodingError.self) { try session.get("n", decoding: Cart.self) }
    }

    @Test func integersAreExactNeverWrapped() throws {
        #expect(throws: EncodingError.self) { try SessionValueEncoder().encode(UInt64.max) }
        #expect(throws: DecodingError.self) { try SessionValueDecoder().decode(UInt8.self, from: .int(256)) }
        #expect(throws: DecodingError.self) { try SessionValueDecoder().decode(UInt.self, from: .int(-1)) }
        #expect(try SessionValueDecoder().decode(Int16.self, from: .int(-300)) == -300)
        #expect(try SessionValueDecoder().decode(Double.self, from: .int(3)) == 3.0)
        // Wrong shapes for primitives are errors (they once recursed without end).
        #expect(throws: DecodingError.self) { try SessionValueDecoder().decode(Int.self, from: .string("1")) }
        #expect(throws: DecodingError.self) { try SessionValueDecoder().decode(String.self, from: .int(1)) }
        #expect(throws: DecodingError.self) { try SessionValueDecoder().decode(Bool.self, from: .null) }
        #expect(throws: DecodingError.self) { try SessionValueDecoder().decode([Int].self, from: .map([:])) }
    }
}
