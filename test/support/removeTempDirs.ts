// A setup file of every vitest project: whatever tempDir() made in a test
// file goes when that file's tests are done.
import { afterAll } from 'vitest';
import { removeTempDirs } from './tempDirs.js';

afterAll(removeTempDirs);
