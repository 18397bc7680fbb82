import { useState } from 'preact/hooks';
import { parseSettings, type Settings } from '../../core/pool/settings';

export interface SettingsFormProps {
  settings: Settings;
  save: (settings: Settings) => Promise<void>;
}

/** Pool size, backend and model server. Values are checked by the same schema the pool reads. */
/** The files a language model needs, as the options page asks for them by default. */
export const LANGUAGE_MODEL_FILES = [
  'config.json',
  'model.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
  'generation_config.json',
];

export function SettingsForm({ settings, save }: SettingsFormProps) {
  const [draft, setDraft] = useState(settings);
  const [lmRepo, setLmRepo] = useState(settings.languageModel?.repo ?? '');
  const [lmFiles, setLmFiles] = useState(
    (settings.languageModel?.files ?? LANGUAGE_MODEL_FILES).join(', '),
  );
  const [status, setStatus] = useState('');
  const onSubmit = async (e: Event) => {
    e.preventDefault();
    const languageModel = lmRepo.trim()
      ? {
          repo: lmRepo.trim(),
          revision: settings.languageModel?.revision ?? 'main',
          files: lmFiles
            .split(',')
            .map((f) => f.trim())
            .filter(Boolean),
        }
      : null;
    const wanted = { ...draft, languageModel };
    const checked = parseSettings(wanted);
    if (checked.modelBaseUrl !== draft.modelBaseUrl) {
      setStatus('The model server must be an http(s) URL.');
      return;
    }
    if (languageModel && checked.languageModel === null) {
      setStatus('The language model is owner/name, with plain file names.');
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
        Model store limit (MB, 0 = the browser's quota)
        <input
          name="maxStorageMB"
          type="number"
          min={0}
          step="any"
          value={draft.maxStorageBytes / 1e6}
          onInput={(e) =>
            setDraft({
              ...draft,
              maxStorageBytes: Math.max(0, Math.round(Number(e.currentTarget.value) * 1e6) || 0),
            })
          }
        />
      </label>
      <label class="settings__check">
        <input
          name="standbyCopy"
          type="checkbox"
          checked={draft.standbyCopy}
          onChange={(e) => setDraft({ ...draft, standbyCopy: e.currentTarget.checked })}
        />
        Keep a warm second copy of models in use on another host (faster failover, twice the memory)
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
      <label>
        Language model for pages (the LanguageModel global; owner/name, empty for none)
        <input
          name="languageModelRepo"
          type="text"
          value={lmRepo}
          onInput={(e) => setLmRepo(e.currentTarget.value)}
        />
      </label>
      <label>
        Its files (comma-separated)
        <input
          name="languageModelFiles"
          type="text"
          value={lmFiles}
          onInput={(e) => setLmFiles(e.currentTarget.value)}
        />
      </label>
      <button type="submit">Save</button>
      <p class="settings__status" role="status">
        {status}
      </p>
    </form>
  );
}
