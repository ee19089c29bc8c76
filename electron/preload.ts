// The preload: runs sandboxed, with contextIsolation, and exposes exactly the
// named methods of the IPC contract as window.keyladder. It is bundled to
// CommonJS (dist/electron/preload.cjs), as sandboxed preloads must be.

import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { buildBridge } from './ipc/bridge.js';

const bridge = buildBridge({
  invoke: (channel, request) => ipcRenderer.invoke(channel, request),
  subscribe(event, listener) {
    // The listener sees the payload only, never the IpcRendererEvent (which would expose `sender`).
    const relay = (_event: IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(event, relay);
    return () => {
      ipcRenderer.removeListener(event, relay);
    };
  },
});

contextBridge.exposeInMainWorld('keyladder', bridge);
