import { useState } from 'preact/hooks';
import { parseSettings, type Settings } from '../../core/pool/settings';

export interface SettingsFormProps {
  settings: Settings;
  save: (settings: Settings) => Promise<void>;
}

/** Pool size, backend and model server. Values are checked by the same schema the pool reads. */
export function SettingsForm({ settings, save }: SettingsFormProps) {
  const [draft, setDraft] = useState(settings);
  const [status, setStatus] = useState('');
  const onSubmit = async (e: Event) => {
    e.preventDefault();
    const checked = parseSettings(draft);
    if (checked.modelBaseUrl !== draft.modelBaseUrl) {
      setStatus('The model server must be an http(s) URL.');
      return;
    }
    await save(checked);
    setStatus('Saved.');
  };
  return (
    <form class="settings" onSubmit={onSubmit} aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <label>
        Pool tabs (besides the offscreen document)
        <input
          name="poolTabs"
          type="number"
          min={0}
          max={8}
          value={draft.poolTabs}
          onInput={(e) => setDraft({ ...draft, poolTabs: Number(e.currentTarget.value) })}
        />
      </label>
      <label>
        Close idle pool tabs after (seconds, 0 = never)
        <input
          name="idleRetireSeconds"
          type="number"
          min={0}
          value={draft.idleRetireSeconds}
          onInput={(e) => setDraft({ ...draft, idleRetireSeconds: Number(e.currentTarget.value) })}
        />
      </label>
      <label>
        Backend
        <select
          name="preferredBackend"
          value={draft.preferredBackend}
          onChange={(e) =>
            setDraft({
              ...draft,
              preferredBackend: e.currentTarget.value as Settings['preferredBackend'],
            })
          }
        >
          <option value="auto">Automatic (hardware GPU, else CPU)</option>
          <option value="webgpu">WebGPU on any adapter</option>
          <option value="cpu">CPU only</option>
        </select>
      </label>
      <label>
        Model server
        <input
          name="modelBaseUrl"
          type="url"
          value={draft.modelBaseUrl}
          onInput={(e) => setDraft({ ...draft, modelBaseUrl: e.currentTarget.value })}
        />
      </label>
      <button type="submit">Save</button>
      <p class="settings__status" role="status">
        {status}
      </p>
    </form>
  );
}
