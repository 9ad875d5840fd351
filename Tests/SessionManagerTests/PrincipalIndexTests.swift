@testable import SessionManager
import Testing

/// The per-principal index's rules, without a store.
@Suite struct PrincipalIndexTests {
    static func random(_ n: Int) -> String { String(repeating: String(n % 10), count: 32) }
    static func id(_ n: Int, node: String = "n1") -> SessionID { SessionID(parsing: random(n) + "-" + node)! }

    @Test func aLoginBeyondTheLimitEvictsTheOldestLoginsOrIsRefused() {
        var index = PrincipalIndex()
        for n in 1...3 {
            #expect(index.logIn(Self.id(n), loginTime: Int64(n), expiresAt: 1000, now: 10, limit: 3, policy: .invalidateOldest) == .loggedIn(evicted: []))
        }
        #expect(index.logIn(Self.id(4), loginTime: 4, expiresAt: 1000, now: 10, limit: 3, policy: .invalidateOldest) == .loggedIn(evicted: [Self.id(1)]))
        #expect(Set(index.members.keys) == [Self.random(2), Self.random(3), Self.random(4)])
        var strict = index
        #expect(strict.logIn(Self.id(5), loginTime: 5, expiresAt: 1000, now: 10, limit: 3, policy: .reject) == .refused)
        #expect(strict == index, "a refused login changes nothing")
        #expect(strict.logIn(Self.id(2), loginTime: 6, expiresAt: 1000, now: 10, limit: 3, policy: .reject) == .loggedIn(evicted: []), "a member's own login again is no new session")
    }

    @Test func expiredMembersArePrunedAndTheKeyLivesAsLongAsItsLastMember() {
        var index = PrincipalIndex()
        _ = index.logIn(Self.id(1), loginTime: 1, expiresAt: 100, now: 0, limit: nil, policy: .invalidateOldest)
        _ = index.logIn(Self.id(2), loginTime: 2, expiresAt: 300, now: 0, limit: nil, policy: .invalidateOldest)
        #expect(index.keyTTL(now: 50) == 250)
        index.refresh(Self.id(1), expiresAt: 500, now: 150)
        #expect(index.members[Self.random(1)] == nil, "expired at 100: pruned, not renewed")
        index.remove(Self.random(2), now: 150)
        #expect(index.keyTTL(now: 150) == nil, "no member: the key goes")
    }

    @Test func aChangedIdMovesItsMemberAndTheEncodingRoundTrips() {
        var index = PrincipalIndex()
        _ = index.logIn(Self.id(1), loginTime: 1_796_000_000_123, expiresAt: 1_796_000_900_000, now: 0, limit: nil, policy: .invalidateOldest)
        let renamed = index.rename(Self.random(1), to: Self.id(7), now: 0)
        #expect(renamed)
        #expect(Array(index.members.keys) == [Self.random(7)])
        index.refresh(Self.id(7, node: "n2"), expiresAt: 1_796_000_000_000, now: 0)
        #expect(index.members[Self.random(7)]?.id == Self.id(7, node: "n2"), "a relocation updates the member's id in place")
        #expect(index.members[Self.random(7)]?.expiresAt == 1_796_000_900_000, "a refresh never shortens the expiry")
        #expect(PrincipalIndex(encoded: index.encoded) == index)
        #expect(PrincipalIndex(encoded: Array("not an index\n".utf8)) == nil)
        #expect(PrincipalIndex(encoded: Array("\(Self.id(1)) 1 2\n\(Self.id(1, node: "n2")) 3 4\n".utf8)) == nil, "a member twice")
        #expect(PrincipalIndex(encoded: [])?.members.isEmpty == true)
    }

    /// The index key is named by SHA-256 of the principal (FIPS 180-4's "abc" vector): any string
    /// is a safe principal, and distinct principals never share an index.
    @Test func theIndexKeyIsNamedByTheHashOfThePrincipal() {
        let keys = SessionKeys(prefix: "sm:/myapp:")
        #expect(keys.principalIndex("abc") == "sm:/myapp:principal:{ba7816bf8f01cfea414140de5dae2223}")
        #expect(keys.principalIndex("a b\r\n{}") != keys.principalIndex("a b\r\n{ }"))
        #expect(keys.principalIndex(String(repeating: "x", count: 10_000)).utf8.count < 250, "memcached's key limit holds for any principal")
        #expect(keys.tombstone("ABCDEF0123456789ABCDEF0123456789") == "sm:/myapp:gone:{ABCDEF0123456789ABCDEF0123456789}")
    }
}
