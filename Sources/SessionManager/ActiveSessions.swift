import Synchronization

/// The sessions that requests on this node are using right now, by id.
///
/// A request for an id that another in-flight request already loaded gets the same ``Session``
/// (reference-counted), as msm does per Tomcat: concurrent requests see each other's changes and
/// ``Session/update(_:_:)`` is atomic across them. The entry goes away when the last request
/// finishes, so memory holds only sessions in use and the store stays the source of truth.
final class ActiveSessions: Sendable {
    private struct Entry {
        let session: Session
        var references: Int
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// Number of sessions in use.
    var count: Int { entries.withLock { $0.count } }

    /// The in-use session for `id`, with one more reference; `nil` if none.
    func acquire(_ id: SessionID) -> Session? {
        entries.withLock { entries in
            guard var entry = entries[id.description] else { return nil }
            entry.references += 1
            entries[id.description] = entry
            return entry.session
        }
    }

    /// Registers a session this request loaded or created. If another request registered the same
    /// id in the meantime, that instance wins and is returned (with a reference for the caller).
    func register(_ session: Session) -> Session {
        let key = session.id.description
        return entries.withLock { entries in
            if var existing = entries[key] {
                existing.references += 1
                entries[key] = existing
                return existing.session
            }
            entries[key] = Entry(session: session, references: 1)
            return session
        }
    }

    /// Drops one reference to `session`, which was registered under `registeredID`; re-files it under
    /// its current id if that changed, and removes it after the last reference.
    func release(_ session: Session, registeredID: SessionID) {
        let currentID = session.id
        entries.withLock { entries in
            var entry = entries.removeValue(forKey: registeredID.description)
                ?? entries.removeValue(forKey: currentID.description)
            guard entry != nil, entry?.session === session else {
                if let entry { entries[entry.session.id.description] = entry }
                return
            }
            entry?.references -= 1
            if let entry, entry.references > 0, session.isValid {
                entries[currentID.description] = entry
            }
        }
    }
}
