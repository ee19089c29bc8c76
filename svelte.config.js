// Svelte 5 with runes everywhere; TypeScript in <script lang="ts"> is only
// type-stripped, so no preprocessor is needed.
export default {
  compilerOptions: { runes: true },
};
