// The 3D preview of an exported scene: three.js renders the scene's .glb on a canvas with
// orbit controls (mouse, touch and keyboard). Bundled by esbuild into
// src/pacai_export/api/static/viewer.js (`make viewer`); the dashboard and
// `pacai-export preview` load that one file, so both show the same picture.
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';

export const BACKGROUND = 0x20242b;
const KEY_ANGLE = Math.PI / 24;
const KEY_ZOOM = 1.15;

function treeOf(object) {
  return object.children.map((child) => ({
    name: child.name,
    type: child.isMesh ? 'mesh' : child.isLight ? 'light' : child.isCamera ? 'camera' : 'node',
    children: treeOf(child),
  }));
}

function frame(camera, controls, box) {
  const size = box.getSize(new THREE.Vector3());
  const center = box.getCenter(new THREE.Vector3());
  const radius = Math.max(size.length() / 2, 0.5);
  const distance = radius / Math.sin((camera.fov * Math.PI) / 360);
  // From the front, 35° above the ground: glTF's +Z is toward the viewer.
  const direction = new THREE.Vector3(0, Math.sin(0.61), Math.cos(0.61));
  camera.position.copy(center).addScaledVector(direction, distance);
  camera.near = distance / 100;
  camera.far = distance * 10;
  camera.updateProjectionMatrix();
  controls.target.copy(center);
  controls.update();
}

function orbitBy(camera, controls, azimuth, polar) {
  const offset = camera.position.clone().sub(controls.target);
  const s = new THREE.Spherical().setFromVector3(offset);
  s.theta += azimuth;
  s.phi = Math.min(Math.max(s.phi + polar, 0.05), Math.PI - 0.05);
  camera.position.copy(controls.target).add(new THREE.Vector3().setFromSpherical(s));
  controls.update();
}

function keyboard(canvas, camera, controls, reset) {
  canvas.addEventListener('keydown', (event) => {
    const actions = {
      ArrowLeft: () => orbitBy(camera, controls, -KEY_ANGLE, 0),
      ArrowRight: () => orbitBy(camera, controls, KEY_ANGLE, 0),
      ArrowUp: () => orbitBy(camera, controls, 0, -KEY_ANGLE),
      ArrowDown: () => orbitBy(camera, controls, 0, KEY_ANGLE),
      '+': () => { camera.position.lerp(controls.target, 1 - 1 / KEY_ZOOM); controls.update(); },
      '=': () => { camera.position.lerp(controls.target, 1 - 1 / KEY_ZOOM); controls.update(); },
      '-': () => {
        camera.position.sub(controls.target).multiplyScalar(KEY_ZOOM).add(controls.target);
        controls.update();
      },
      r: reset,
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
}

// Loads `url` (a .glb) into `canvas`; resolves once the first frame is drawn, with the node
// tree and `project(x, y, z)`: where a world point lands on the canvas, in CSS pixels.
export async function show(canvas, url) {
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(window.devicePixelRatio || 1);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(BACKGROUND);
  // Light that does not depend on the scene's own (a scene may have none).
  scene.add(new THREE.HemisphereLight(0xffffff, 0x404040, 2.0));
  const camera = new THREE.PerspectiveCamera(50, 1, 0.1, 1000);
  const controls = new OrbitControls(camera, canvas);
  const gltf = await new GLTFLoader().loadAsync(url);
  scene.add(gltf.scene);
  const box = new THREE.Box3().setFromObject(gltf.scene);
  if (box.isEmpty()) box.set(new THREE.Vector3(-1, -1, -1), new THREE.Vector3(1, 1, 1));

  const draw = () => renderer.render(scene, camera);
  const resize = () => {
    const width = canvas.clientWidth || 640;
    const height = canvas.clientHeight || 400;
    renderer.setSize(width, height, false);
    camera.aspect = width / height;
    camera.updateProjectionMatrix();
    draw();
  };
  const reset = () => frame(camera, controls, box);
  controls.addEventListener('change', draw);
  keyboard(canvas, camera, controls, reset);
  new ResizeObserver(resize).observe(canvas);
  reset();
  resize();
  return {
    nodes: treeOf(gltf.scene),
    project(x, y, z) {
      const p = new THREE.Vector3(x, y, z).project(camera);
      return { x: ((p.x + 1) / 2) * canvas.clientWidth, y: ((1 - p.y) / 2) * canvas.clientHeight };
    },
    draw,
  };
}
