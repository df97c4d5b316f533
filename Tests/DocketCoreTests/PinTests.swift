import Foundation
import Testing

@testable import DocketCore

/// `docket pin` (DESIGN §10): golden files under Fixtures/pin, `<case>.in.yaml` pinned must equal
/// `<case>.out.yaml` byte for byte, with one fixed ledger state.
@Suite("Manifest pinner")
struct PinTests {
    static let payments = "sha256:3c28c18f1dee6d5f6ff2d09a03212d83996d9ebf55a2107623469c8ce2ce9eb7"
    static let ledger = "sha256:bc3ccf51664e88909a59b4763451f78e231f8518304763850ed063ac5b2940c1"
    static let nginx = "sha256:a084e6dabb88843ed9728ea97c7860f695062556ab83c1b5dc13d946c4e9ae16"
    static let app = "sha256:c4ae4d9073cbc73274f9bca967f58514344cad3a843e8b2e88c98610ee3c2304"
    /// Digests the fixtures were pinned to before: drift.
    static let oldPayments = "sha256:e2fd71725e3d2a21d6e0b8de10e3648767c321fa067466fb6fbb76d17384c39c"
    static let oldLedger = "sha256:136736f6fdc98c571881c33eb40235fc5ff786c53866907660f4190929371e50"

    /// The ledger: five repositories, four with a digest current in the environment (`reports` has none).
    static let pinner = ManifestPinner(
        known: [
            "registry.example/payments", "registry.example/ledger", "registry.example/reports",
            "docker.io/library/nginx", "localhost:5000/app",
        ],
        current: [
            "registry.example/payments": payments, "registry.example/ledger": ledger,
            "docker.io/library/nginx": nginx, "localhost:5000/app": app,
        ])

    /// The cases with an `.out.yaml`.
    static let goldenCases = [
        "already-pinned", "bom", "crd", "crlf", "cronjob", "drift", "ephemeral-containers", "flow-style",
        "helm-values", "image-volumes", "init-containers", "json", "list", "multi-document", "non-ascii", "quoted",
        "tag-only", "trailing-comments", "unknown-repo",
    ]

    static func data(_ name: String) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/pin/" + name, withExtension: nil))
        return try Data(contentsOf: url)
    }

    static func pin(_ name: String) throws -> PinnedFile {
        try pinner.pin(try data(name + ".in.yaml"), file: name + ".yaml")
    }

    static func pin(text: String) throws -> PinnedFile { try pinner.pin(text, file: "test.yaml") }

    /// Pins `<name>.in.yaml` and expects exactly the bytes of `<name>.out.yaml`.
    @discardableResult
    static func golden(_ name: String) throws -> PinnedFile {
        let result = try pin(name)
        let expected = try data(name + ".out.yaml")
        let actual = Data(result.pinned.utf8)
        let shown = UnifiedDiff(original: String(decoding: expected, as: UTF8.self), changed: result.pinned, file: name)
        #expect(actual == expected, "\(name): pinned bytes differ from the golden file:\n\(shown.text)")
        return result
    }

    static func change(
        _ file: String, _ line: Int, _ path: String, _ repository: String, _ from: String, _ to: String,
        document: Int = 0
    ) -> PinChange {
        PinChange(
            file: file + ".yaml", line: line, document: document, path: path, repository: repository, from: from,
            to: to)
    }

    // MARK: Golden files

    @Test("Each input pins to its golden output, byte for byte", arguments: goldenCases)
    func goldenFile(_ name: String) throws {
        let result = try Self.golden(name)
        #expect(result.missing.isEmpty)
        #expect(result.original.utf8.elementsEqual(try Self.data(name + ".in.yaml")))
    }

    @Test("Every golden output is in the list above, so none goes unchecked")
    func everyGoldenIsListed() throws {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures/pin", withExtension: nil))
        let outputs = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".out.yaml") }.map { String($0.dropLast(".out.yaml".count)) }
        #expect(outputs.sorted() == Self.goldenCases)
    }

    @Test("A second pin of every output changes nothing", arguments: goldenCases)
    func secondRun(_ name: String) throws {
        let first = try Self.pin(name)
        let output = try Self.data(name + ".out.yaml")
        let second = try Self.pinner.pin(output, file: name + ".yaml")
        #expect(second.changes.isEmpty)
        #expect(Data(second.pinned.utf8) == output)
        #expect(second.diff == "")
        #expect(second.unchanged.count == first.changes.count + first.unchanged.count)
        #expect(second.ignored == first.ignored)
    }

    // MARK: Where images are found

    @Test("Trailing comments stay; plain, quoted and tab-separated images are pinned")
    func trailingComments() throws {
        let result = try Self.golden("trailing-comments")
        #expect(
            result.changes == [
                Self.change(
                    "trailing-comments", 9, "spec.containers[0].image", "registry.example/payments",
                    "registry.example/payments:1.4.2", "registry.example/payments@\(Self.payments)"),
                Self.change(
                    "trailing-comments", 11, "spec.containers[1].image", "registry.example/ledger",
                    "registry.example/ledger:2.0", "registry.example/ledger@\(Self.ledger)"),
                Self.change(
                    "trailing-comments", 13, "spec.containers[2].image", "docker.io/library/nginx", "nginx:1.25",
                    "nginx@\(Self.nginx)"),
            ])
    }

    @Test("Every document of a file; anchors in a document with no image are left alone")
    func multiDocument() throws {
        let result = try Self.golden("multi-document")
        #expect(result.changes.map(\.document) == [0, 3])
        #expect(result.changes.map(\.line) == [12, 40])
        #expect(result.changes.map(\.path) == Array(repeating: "spec.template.spec.containers[0].image", count: 2))
        #expect(result.pinned.contains("...\n---\n") && result.pinned.contains("---   # the ledger\n"))
    }

    @Test("CRLF line endings stay CRLF")
    func crlf() throws {
        let result = try Self.golden("crlf")
        let bytes = Array(result.pinned.utf8)
        let lineFeeds = bytes.indices.filter { bytes[$0] == 10 }
        #expect(lineFeeds.count == 12)
        #expect(lineFeeds.allSatisfy { $0 > 0 && bytes[$0 - 1] == 13 })
        #expect(result.changes.map(\.line) == [10, 12])
    }

    @Test("Flow style: plain scalars end at `,` `]` `}`, quoted ones keep their quotes")
    func flowStyle() throws {
        let result = try Self.golden("flow-style")
        #expect(
            result.changes.map(\.path) == [
                "spec.containers[0].image", "spec.containers[1].image", "spec.initContainers[0].image",
                "spec.initContainers[1].image", "spec.initContainers[2].image",
            ])
        #expect(result.changes.map(\.line) == [5, 5, 7, 8, 9])
    }

    @Test("Quoted images keep their quote style; an escaped one is written without escapes; a tag stays")
    func quoted() throws {
        let result = try Self.golden("quoted")
        #expect(result.changes.map(\.from)[2] == "registry.example/ledger:2.0")
        #expect(result.pinned.contains("note: 'it''s quoted'") && result.pinned.contains(#"escaped: "tab\there""#))
    }

    @Test("CronJob jobTemplate, with init containers")
    func cronJob() throws {
        let result = try Self.golden("cronjob")
        #expect(
            result.changes.map(\.path) == [
                "spec.jobTemplate.spec.template.spec.initContainers[0].image",
                "spec.jobTemplate.spec.template.spec.containers[0].image",
            ])
    }

    @Test("Init containers of a DaemonSet, in a sequence not indented under its key")
    func initContainers() throws {
        let result = try Self.golden("init-containers")
        #expect(
            result.changes.map(\.repository) == [
                "registry.example/ledger", "localhost:5000/app", "registry.example/payments",
            ])
    }

    @Test("Ephemeral containers; an image already pinned and an unknown one are reported, not changed")
    func ephemeralContainers() throws {
        let result = try Self.golden("ephemeral-containers")
        #expect(result.changes.map(\.path) == ["spec.ephemeralContainers[0].image"])
        #expect(result.unchanged.map(\.path) == ["spec.containers[0].image"])
        #expect(result.ignored == ["busybox:1.36"])
    }

    @Test("Image volumes: volumes[].image.reference")
    func imageVolumes() throws {
        let result = try Self.golden("image-volumes")
        #expect(result.changes.map(\.path) == ["spec.containers[0].image", "spec.volumes[0].image.reference"])
    }

    @Test("kind: List items")
    func list() throws {
        let result = try Self.golden("list")
        #expect(
            result.changes.map(\.path) == [
                "items[0].spec.template.spec.containers[0].image", "items[1].spec.containers[0].image",
            ])
    }

    @Test("A custom resource embedding a pod template; its own `image` field is not a container's")
    func customResource() throws {
        let result = try Self.golden("crd")
        #expect(
            result.changes.map(\.path) == [
                "spec.workers.podTemplate.spec.containers[0].image",
                "spec.workers.podTemplate.spec.initContainers[0].image",
            ])
        #expect(result.ignored.isEmpty)
    }

    @Test("JSON manifests: double-quoted scalars in flow collections")
    func json() throws {
        let result = try Self.golden("json")
        #expect(result.changes.count == 3)
        let object = try JSONSerialization.jsonObject(with: Data(result.pinned.utf8))
        #expect(object is [String: Any])
    }

    // MARK: What an image becomes

    @Test("Tag-only images: docker.io normalisation, the name kept as written, the tag dropped")
    func tagOnly() throws {
        let result = try Self.golden("tag-only")
        let dockerHub = Array(repeating: "docker.io/library/nginx", count: 5)
        #expect(result.changes.map(\.repository) == dockerHub + ["registry.example/payments"])
        #expect(
            result.changes.map(\.to) == [
                "nginx", "nginx", "library/nginx", "docker.io/library/nginx", "index.docker.io/library/nginx",
            ].map { $0 + "@" + Self.nginx } + ["Registry.Example/payments@" + Self.payments])
    }

    @Test("Unknown repositories and template syntax are left byte for byte and listed")
    func unknownRepository() throws {
        let result = try Self.golden("unknown-repo")
        #expect(
            result.ignored == [
                "quay.io/prometheus/node-exporter:v1.8.0", "${IMAGE}", "{{ .Values.image }}",
                "registry.example/unknown:1.0", "Registry Example / payments",
            ])
        #expect(result.changes.map(\.repository) == ["registry.example/payments"])
    }

    @Test("Already pinned: nothing changes and there is no diff")
    func alreadyPinned() throws {
        let result = try Self.golden("already-pinned")
        #expect(result.pinned.utf8.elementsEqual(result.original.utf8))
        #expect(result.changes.isEmpty && !result.changed)
        #expect(result.diff == "")
        #expect(result.unchanged.map(\.line) == [10, 12, 14])
        #expect(result.ignored == ["quay.io/prometheus/node-exporter:v1.8.0"])
    }

    @Test("Drift: an old digest, and a tag beside another digest, become the current digest; the diff is golden")
    func drift() throws {
        let result = try Self.golden("drift")
        #expect(
            result.changes == [
                Self.change(
                    "drift", 21, "spec.template.spec.containers[0].image", "registry.example/payments",
                    "registry.example/payments@\(Self.oldPayments)", "registry.example/payments@\(Self.payments)"),
                Self.change(
                    "drift", 34, "spec.template.spec.containers[1].image", "registry.example/ledger",
                    "registry.example/ledger:2.0@\(Self.oldLedger)", "registry.example/ledger@\(Self.ledger)"),
            ])
        let expected = try Self.data("drift.diff")
        #expect(Data(result.diff.utf8) == expected, "diff:\n\(result.diff)")
    }

    // MARK: Bytes around the image

    @Test("Non-ASCII text before an image on its line: columns count characters, not bytes")
    func nonASCII() throws {
        let result = try Self.golden("non-ascii")
        #expect(result.changes.map(\.line) == [9, 11, 12])
    }

    @Test("A byte order mark is kept, and columns on its line still line up")
    func byteOrderMark() throws {
        let result = try Self.golden("bom")
        #expect(result.pinned.utf8.starts(with: [0xEF, 0xBB, 0xBF]))
        #expect(result.changes.map(\.line) == [1])
    }

    @Test("Parser marks map to byte offsets: characters of any width, every YAML 1.1 line break")
    func marksToOffsets() {
        let source = ManifestSource(Array("é: 日本\r\nx\u{2028}𝔘 y\u{85}z\rw".utf8))
        // é and : and space, then 日本 (3 bytes each), CRLF; x, U+2028; 𝔘 (4 bytes), space, y, U+0085; z, CR; w.
        #expect(source.lineStarts == [0, 12, 16, 24, 26])
        #expect(source.offset(line: 1, column: 4) == 4)
        #expect(source.offset(line: 3, column: 3) == 21)
        #expect(source.offset(line: 9, column: 1) == nil)
        #expect(source.line(at: 21) == 3 && source.line(at: 24) == 4 && source.line(at: 0) == 1)
    }

    // MARK: Helm values

    @Test("Helm values: marked values take the bare digest, or the pinned image when they are one")
    func helmValues() throws {
        let result = try Self.golden("helm-values")
        #expect(result.changes.map(\.path) == ["image.tag", "ledger.image", "ledger.digest", "proxy.tag", "seed[0]"])
        #expect(
            result.changes.map(\.repository) == [
                "registry.example/payments", "registry.example/ledger", "registry.example/ledger",
                "docker.io/library/nginx", "localhost:5000/app",
            ])
        #expect(result.changes.map(\.to)[1] == "registry.example/ledger@" + Self.ledger)
    }

    @Test("A marker naming a repository with no current digest is missing")
    func markerWithoutDigest() throws {
        let result = try Self.pin(text: "reports:\n  tag: '0.9' # {\"$docket\": \"registry.example/reports\"}\n")
        #expect(
            result.missing == [
                MissingPin(
                    file: "test.yaml", line: 2, path: "reports.tag", repository: "registry.example/reports",
                    image: "0.9")
            ])
    }

    @Test("A marker with no value before it on its line is refused")
    func orphanMarker() throws {
        let error = #expect(throws: PinError.self) { try Self.pin("orphan-marker") }
        #expect(error == .markerWithoutValue(file: "orphan-marker.yaml", line: 2))
        #expect(error?.description.hasPrefix("orphan-marker.yaml:2: ") == true)
    }

    @Test("Malformed markers and a marker on another repository's image are refused")
    func badMarkers() throws {
        let notObject = PinError.badMarker(
            file: "test.yaml", line: 1, reason: "its comment is not a JSON object with one member")
        #expect(throws: notObject) { try Self.pin(text: "tag: 1 # {\"$docket\": 5}\n") }
        let name = #expect(throws: PinError.self) { try Self.pin(text: "tag: 1 # {\"$docket\": \"Bad Name\"}\n") }
        guard case .badMarker(_, 1, let reason) = name else {
            Issue.record("expected a bad marker, got \(String(describing: name))")
            return
        }
        #expect(reason.contains("Bad Name"))
        let conflict = #expect(throws: PinError.self) {
            try Self.pin(
                text: "containers:\n- image: registry.example/payments:1 # {\"$docket\": \"registry.example/ledger\"}\n"
            )
        }
        #expect(
            conflict
                == .markerConflict(
                    file: "test.yaml", line: 2, marker: "registry.example/ledger", image: "registry.example/payments"))
        // Prose that mentions markers is not one.
        #expect(try Self.pin(text: "# a marker is {\"$docket\": \"x\"}\ntag: 1 # see \"$docket\"\n").changes.isEmpty)
    }

    // MARK: Refusals

    @Test("An image with no promoted digest: all are listed, and the file must not be written")
    func missing() throws {
        let result = try Self.pin("missing")
        let expected = [
            MissingPin(
                file: "missing.yaml", line: 10, path: "spec.containers[1].image",
                repository: "registry.example/reports",
                image: "registry.example/reports:0.9"),
            MissingPin(
                file: "missing.yaml", line: 13, path: "spec.initContainers[0].image",
                repository: "registry.example/reports", image: "registry.example/reports@\(Self.oldPayments)"),
        ]
        #expect(result.missing == expected)
        #expect(result.changes.map(\.line) == [8])
        #expect(throws: PinError.notPromoted(expected)) { try result.requirePromoted() }
        let message = "\(PinError.notPromoted(expected))"
        #expect(message.contains("missing.yaml:10 registry.example/reports") && message.contains("missing.yaml:13"))
        #expect(throws: Never.self) { try Self.golden("drift").requirePromoted() }
    }

    @Test("Anchors and aliases in a document with images are refused, naming the line")
    func anchors() throws {
        let error = #expect(throws: PinError.self) { try Self.pin("anchors") }
        #expect(error == .anchor(file: "anchors.yaml", line: 8, name: "containers"))
        #expect(error?.description.hasPrefix("anchors.yaml:8: anchor `&containers`") == true)
    }

    @Test("Malformed YAML is refused with its line")
    func malformed() throws {
        let error = #expect(throws: PinError.self) { try Self.pin("malformed") }
        guard case .notYAML(let file, let line, _) = error else {
            Issue.record("expected notYAML, got \(String(describing: error))")
            return
        }
        #expect(file == "malformed.yaml" && line == 7)
    }

    @Test("Block scalars and images over several lines are refused")
    func unsupportedScalars() throws {
        let image = "registry.example/payments:1.4.2"
        #expect(throws: PinError.blockScalar(file: "block-scalar.yaml", line: 6, image: image)) {
            try Self.pin("block-scalar")
        }
        #expect(throws: PinError.multiLine(file: "multi-line.yaml", line: 6, image: image)) {
            try Self.pin("multi-line")
        }
    }

    @Test("Bytes that are not UTF-8 are refused with the line")
    func notUTF8() throws {
        let data = Data("kind: Pod\nspec:\n  x: ".utf8) + Data([0xFF, 0x0A])
        #expect(throws: PinError.notUTF8(file: "bad.yaml", line: 3)) { try Self.pinner.pin(data, file: "bad.yaml") }
    }

    @Test("A current digest that is not a digest is a caller's bug, reported")
    func badCurrentDigest() throws {
        let pinner = ManifestPinner(known: ["nginx"], current: ["nginx": "latest"])
        #expect(throws: PinError.badDigest(repository: "docker.io/library/nginx", digest: "latest")) {
            try pinner.pin("containers: [{image: nginx}]\n", file: "x.yaml")
        }
    }

    @Test("An empty file, or one of comments only, pins to itself")
    func emptyFiles() throws {
        for text in ["", "# nothing\n", "---\n...\n"] {
            let result = try Self.pin(text: text)
            #expect(result.pinned == text && result.changes.isEmpty && result.diff.isEmpty)
        }
    }

    @Test("Repository names given to the pinner are normalised")
    func normalisedLedgerNames() throws {
        let pinner = ManifestPinner(known: [], current: ["nginx": Self.nginx])
        let result = try pinner.pin("containers: [{image: docker.io/nginx:1}]\n", file: "x.yaml")
        #expect(result.pinned == "containers: [{image: docker.io/nginx@\(Self.nginx)}]\n")
    }

    @Test("The check after the edit refuses a text that changed anywhere else")
    func verification() throws {
        let documents = try ManifestPinner.parse("a: nginx\nb: x\n", file: "v.yaml")
        let valueOfA = 2  // the mapping, key `a`, its value
        let pinned = "nginx@" + Self.nginx
        #expect(throws: Never.self) {
            try ManifestPinner.verify(
                documents, against: "a: \(pinned)\nb: x\n", replacements: [0: [valueOfA: pinned]], file: "v.yaml")
        }
        for wrong in [
            "a: \(pinned)\nb: y\n", "a: '\(pinned)'\nb: x\n", "a: \(pinned)\nb: x\n---\n", "a: nginx\nb: x\n",
        ] {
            let error = #expect(throws: PinError.self) {
                try ManifestPinner.verify(
                    documents, against: wrong, replacements: [0: [valueOfA: pinned]], file: "v.yaml")
            }
            guard case .verificationFailed(let file, _) = error else {
                Issue.record("expected a verification failure for \(wrong)")
                continue
            }
            #expect(file == "v.yaml")
        }
    }

    // MARK: Pieces

    @Test("Image texts: name, tag and digest; what is not a reference")
    func imageText() throws {
        let image = try #require(ImageText("Registry.Example:5000/team/app:v1.2@" + Self.app))
        #expect(image.name == "Registry.Example:5000/team/app" && image.tag == "v1.2" && image.digest == Self.app)
        #expect(image.repository == "registry.example:5000/team/app")
        #expect(image.pinned(to: Self.payments) == "Registry.Example:5000/team/app@" + Self.payments)
        #expect(ImageText("localhost:5000/app")?.repository == "localhost:5000/app")
        #expect(ImageText("localhost:5000/app")?.tag == nil)
        for text in [
            "", "nginx:", "nginx:-x", "nginx@sha256:abc", "nginx@sha512:" + String(repeating: "a", count: 128),
            "${IMAGE}", "registry.example/App:1", "a b", "nginx@" + Self.app + "@" + Self.app,
        ] {
            #expect(ImageText(text) == nil, "\(text)")
        }
    }

    @Test("Diffs: hunks merge when their context touches; a last line with no newline is marked")
    func unifiedDiff() {
        let old = (1...12).map { "line \($0)" }.joined(separator: "\n")
        var lines = (1...12).map { "line \($0)" }
        lines[1] = "LINE 2"
        lines[7] = "LINE 8"
        lines[11] = "LINE 12"
        let diff = UnifiedDiff(original: old, changed: lines.joined(separator: "\n"), file: "f").text
        #expect(
            diff == """
                --- a/f
                +++ b/f
                @@ -1,12 +1,12 @@
                 line 1
                -line 2
                +LINE 2
                 line 3
                 line 4
                 line 5
                 line 6
                 line 7
                -line 8
                +LINE 8
                 line 9
                 line 10
                 line 11
                -line 12
                \\ No newline at end of file
                +LINE 12
                \\ No newline at end of file

                """)
        #expect(UnifiedDiff(original: "a\n", changed: "a\n", file: "f").text == "")
        #expect(
            UnifiedDiff(original: "a\n", changed: "a\nb\n", file: "f").text
                == "--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n-a\n+a\n+b\n")
    }

    @Test("Nested aliases are refused before they are expanded, even in a file with no image (issue 30, item 5)")
    func aliasBomb() throws {
        var text = "a: &a [x, x, x, x, x, x, x, x, x]\n"
        for level in 1...12 {
            let items = Array(repeating: "*\(level == 1 ? "a" : "l\(level - 1)")", count: 9).joined(separator: ", ")
            text += "l\(level): &l\(level) [\(items)]\n"
        }
        let started = ContinuousClock.now
        do {
            _ = try Self.pinner.pin(text, file: "bomb.yaml")
            Issue.record("an alias bomb was pinned")
        } catch {
            guard case .aliasExpansion(let file, _, let limit) = error else {
                Issue.record("expected an alias-expansion refusal, got \(error)")
                return
            }
            #expect(file == "bomb.yaml" && limit == max(10_000, 20 * text.utf8.count))
            #expect("\(error)".contains("more than \(limit) nodes"), "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(5), "refused without expanding the aliases")
        // A few ordinary aliases stay well inside the budget.
        _ = try Self.pinner.pin("base: &b {a: 1, b: 2}\nx: *b\ny: *b\n", file: "fine.yaml")
    }

    @Test(
        "A merge key that brings in an image is refused, naming its line (issue 30, item 6)",
        arguments: [
            "base: &base\n  name: web\n  image: nginx:1.27\nspec:\n  containers:\n    - <<: *base\n",
            "spec:\n  containers:\n    - name: web\n      <<: {image: nginx:1.27}\n",
        ])
    func mergeKeys(text: String) {
        #expect(throws: PinError.self) { _ = try Self.pinner.pin(text, file: "merge.yaml") }
        do {
            _ = try Self.pinner.pin(text, file: "merge.yaml")
        } catch {
            #expect("\(error)".contains("merge key") && "\(error)".contains("merge.yaml:"), "\(error)")
        }
    }

    @Test("A merge key of labels is left alone")
    func harmlessMergeKey() throws {
        let text = "common: &labels {app: web}\nmetadata:\n  labels:\n    <<: *labels\n    tier: front\n"
        #expect(try Self.pinner.pin(text, file: "labels.yaml").changes.isEmpty)
    }
}
