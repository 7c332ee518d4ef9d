/**
 * The flow `npm start` shows on its first start: the package's main job, live. A magnet is added
 * to put.io; the moment put.io reports the transfer finished, its file is downloaded to a NAS folder
 * under .sandbox/ (verified, then deleted from put.io), Jellyfin (a local stand-in) is told to
 * refresh its library, and a summary lands in the debug sidebar. Node-RED fills in the whole-value
 * ${VAR}s from the environment the sandbox gives it (the emulator's and the stand-in's ports change
 * each start).
 */

export const SANDBOX_ACCOUNT_ID = "sandbox-account";
export const SANDBOX_TAB = "sandbox-tab";
/** The put.io folder the flow adds to and watches; the sandbox creates it in the emulator. */
export const SANDBOX_PUTIO_FOLDER = "/Incoming";
export const MAGNET_INJECT_ID = "sandbox-magnet";
export const ACCOUNT_INJECT_ID = "sandbox-info-inject";

/** The ids of the flow earlier sandboxes wrote: a userDir still holding exactly it gets the new one. */
export const PREVIOUS_STARTER_IDS = ["sandbox-tab", "sandbox-account", "sandbox-inject", "sandbox-info", "sandbox-debug"];

/**
 * A fresh magnet on every press: the info-hash comes from the clock, so put.io's duplicate
 * detection (an active transfer with the same source is returned instead of added) never swallows it.
 */
const FRESH_MAGNET = `"magnet:?xt=urn:btih:" & $pad($formatBase($millis(), 16), -40, "0") & "&dn=Demo.Clip." & $now("[H01][m01][s01]-[f001]") & ".mkv"`;

/** Jellyfin's answer, or why there was none (the http request node sets a string code such as ECONNREFUSED). */
const SUMMARY =
  `$type(statusCode) = "number" and statusCode >= 200 and statusCode < 300 ? "Jellyfin is rescanning" : ` +
  `($type(statusCode) = "number" ? "Jellyfin answered HTTP " & statusCode : "Jellyfin unreachable (" & $string(statusCode) & ")")`;

export function starterFlow(): Array<Record<string, unknown>> {
  const z = SANDBOX_TAB;
  return [
    {
      id: SANDBOX_TAB,
      type: "tab",
      label: "put.io sandbox",
      info:
        "Offline sandbox: the put.io account points at the local emulator, the NAS folder is .sandbox/nas and Jellyfin is a local stand-in that records library refreshes.\n\n" +
        "Import more flows from Menu > Import > Examples > @putflow/node-red-putio.",
    },
    {
      id: SANDBOX_ACCOUNT_ID,
      type: "putio-account",
      name: "emulator",
      clientId: "1234",
      apiUrl: "${PUTIO_API_URL}",
      uploadUrl: "${PUTIO_UPLOAD_URL}",
      socketUrl: "${PUTIO_SOCKET_URL}",
      webUrl: "${PUTIO_WEB_URL}",
      maxConcurrent: 4,
    },
    {
      id: "sandbox-comment",
      type: "comment",
      z,
      name: "Magnet → put.io → NAS → Jellyfin (press the magnet button to run it again)",
      info:
        '1. The inject node sends a fresh magnet (when the editor first loads, then on every press); "add transfer" adds it to put.io\'s /Incoming folder.\n' +
        '2. "watch transfers" sends the transfer the moment put.io reports it finished (the emulator takes about 6 s).\n' +
        '3. "download" copies its file to the NAS folder (NAS_DIR, here .sandbox/nas), verifies size and CRC32, then deletes it from put.io and removes the transfer.\n' +
        "4. Jellyfin is asked to rescan (POST /Library/Refresh with its API key, JELLYFIN_TOKEN); the summary is in the debug sidebar.",
      x: 340,
      y: 40,
      wires: [],
    },
    {
      id: MAGNET_INJECT_ID,
      type: "inject",
      z,
      name: "new magnet",
      props: [{ p: "payload" }],
      repeat: "",
      crontab: "",
      // The sandbox presses it when the editor first loads (scripts/sandbox.ts), so the summary is seen.
      once: false,
      onceDelay: "2",
      topic: "",
      payload: FRESH_MAGNET,
      payloadType: "jsonata",
      x: 130,
      y: 100,
      wires: [["sandbox-add"]],
    },
    {
      id: "sandbox-add",
      type: "putio-transfer-add",
      z,
      name: "add to /Incoming",
      account: SANDBOX_ACCOUNT_ID,
      folder: SANDBOX_PUTIO_FOLDER,
      folderType: "str",
      callbackUrl: "",
      callbackUrlType: "str",
      x: 330,
      y: 100,
      wires: [["sandbox-added"]],
    },
    {
      id: "sandbox-added",
      type: "debug",
      z,
      name: "added",
      active: true,
      tosidebar: true,
      console: false,
      tostatus: false,
      complete: "payload.name",
      targetType: "msg",
      statusVal: "",
      statusType: "auto",
      x: 530,
      y: 100,
      wires: [],
    },
    {
      id: "sandbox-watch",
      type: "putio-transfer-watch",
      z,
      name: "finished in /Incoming",
      account: SANDBOX_ACCOUNT_ID,
      mode: "socket",
      intervalSeconds: "",
      statuses: "COMPLETED",
      folder: SANDBOX_PUTIO_FOLDER,
      namePattern: "",
      emitMissed: true,
      callback: false,
      callbackPath: "putio-callback",
      x: 150,
      y: 180,
      wires: [["sandbox-download"]],
    },
    {
      id: "sandbox-download",
      type: "putio-download",
      z,
      name: "to NAS, delete from put.io",
      account: SANDBOX_ACCOUNT_ID,
      source: "payload",
      sourceType: "msg",
      target: "${NAS_DIR}",
      targetType: "str",
      ifExists: "skip-identical",
      deleteAfter: true,
      skipTrash: false,
      removeTransfer: true,
      olderThanDays: "",
      fileTypes: "",
      extensions: "",
      namePattern: "",
      minSizeMb: "",
      maxSizeMb: "",
      progressOutput: false,
      resume: true,
      dryRun: false,
      outputs: 1,
      filesAtOnce: "2",
      connections: "4",
      segmentMb: "64",
      bandwidthMBs: "",
      unlimitedWindow: "",
      x: 390,
      y: 180,
      wires: [["sandbox-job"]],
    },
    {
      id: "sandbox-job",
      type: "function",
      z,
      name: "job done?",
      func:
        "// One msg per file (topic putio/downloaded), then one per job (putio/download/done): only the job goes on.\n" +
        'if (msg.topic !== "putio/download/done" || !msg.payload.downloaded) return null;\n' +
        "msg.summary = msg.payload;\n" +
        'msg.payload = ""; // Jellyfin\'s refresh takes no body\n' +
        "return msg;",
      outputs: 1,
      timeout: 0,
      noerr: 0,
      initialize: "",
      finalize: "",
      libs: [],
      x: 600,
      y: 180,
      wires: [["sandbox-jellyfin"]],
    },
    {
      id: "sandbox-jellyfin",
      type: "http request",
      z,
      name: "refresh Jellyfin",
      method: "POST",
      ret: "txt",
      paytoqs: "ignore",
      url: "${JELLYFIN_REFRESH_URL}",
      tls: "",
      persist: false,
      proxy: "",
      insecureHTTPParser: false,
      authType: "",
      senderr: false,
      headers: [{ keyType: "other", keyValue: "X-Emby-Token", valueType: "other", valueValue: "${JELLYFIN_TOKEN}" }],
      x: 770,
      y: 180,
      wires: [["sandbox-summary"]],
    },
    {
      id: "sandbox-summary",
      type: "change",
      z,
      name: "summary",
      rules: [
        {
          t: "set",
          p: "payload",
          pt: "msg",
          tot: "jsonata",
          to:
            `putioPath & " → " & summary.target & ": " & summary.downloaded & " file(s), " & $string($round(summary.bytes / 1024)) & " kB, CRC32 verified; ` +
            `deleted from put.io: " & $string($count(summary.deletedFileIds)) & (summary.transferRemoved ? ", transfer removed" : "") & "; " & (${SUMMARY})`,
        },
      ],
      action: "",
      property: "",
      from: "",
      to: "",
      reg: false,
      x: 950,
      y: 180,
      wires: [["sandbox-debug"]],
    },
    {
      id: "sandbox-debug",
      type: "debug",
      z,
      name: "summary",
      active: true,
      tosidebar: true,
      console: false,
      tostatus: false,
      complete: "payload",
      targetType: "msg",
      statusVal: "",
      statusType: "auto",
      x: 1110,
      y: 180,
      wires: [],
    },
    {
      id: "sandbox-catch",
      type: "catch",
      z,
      name: "add or download failed",
      scope: ["sandbox-add", "sandbox-download"],
      uncaught: false,
      x: 620,
      y: 240,
      wires: [["sandbox-failure"]],
    },
    {
      id: "sandbox-failure",
      type: "change",
      z,
      name: "failure text",
      rules: [{ t: "set", p: "payload", pt: "msg", tot: "jsonata", to: `"failed: " & error.message` }],
      action: "",
      property: "",
      from: "",
      to: "",
      reg: false,
      x: 950,
      y: 240,
      wires: [["sandbox-debug"]],
    },
    {
      id: ACCOUNT_INJECT_ID,
      type: "inject",
      z,
      name: "read account",
      props: [{ p: "payload" }],
      repeat: "",
      crontab: "",
      once: false,
      onceDelay: "1",
      topic: "",
      payload: "",
      payloadType: "date",
      x: 130,
      y: 320,
      wires: [["sandbox-info"]],
    },
    {
      id: "sandbox-info",
      type: "putio-account-info",
      z,
      name: "",
      account: SANDBOX_ACCOUNT_ID,
      thresholdGb: "",
      includeSettings: false,
      x: 330,
      y: 320,
      wires: [["sandbox-account-debug"], ["sandbox-account-debug"]],
    },
    {
      id: "sandbox-account-debug",
      type: "debug",
      z,
      name: "account",
      active: true,
      tosidebar: true,
      console: false,
      tostatus: false,
      complete: "payload",
      targetType: "msg",
      statusVal: "",
      statusType: "auto",
      x: 530,
      y: 320,
      wires: [],
    },
  ];
}
