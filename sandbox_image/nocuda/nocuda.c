/*
 * libtorchvision_nocuda.so: the CUDA entry points of torchvision 0.28.0, for the CPU image.
 *
 * Why: the only torchvision built against torch 2.13 (the CPU image's torch) is a CUDA build.
 * Its two extension modules (torchvision/_C.so, torchvision/image.so) list libc10_cuda,
 * libtorch_cuda, libcudart and libnvjpeg as DT_NEEDED, so beside torch 2.13.0+cpu they fail
 * to load and every torchvision operator is missing ("operator torchvision::nms does not
 * exist"). The CPU kernels never call into CUDA; only the CUDA kernels (and the GPU JPEG
 * codec) do, and they are unreachable on a torch without CUDA. The image build
 * (nocuda/patch_torchvision.py) points those DT_NEEDED entries at this one small library
 * instead, and deletes the bundled libcudart and libnvjpeg. The alternative, torch 2.14.1
 * with torchvision 0.29.1, is a CUDA build of ~5.2 GiB.
 *
 * What each entry does:
 * - load time: the CUDA fat-binary registration that runs when the modules are loaded is
 *   a no-op; c10::cuda::device_count() answers 0; CUDACachingAllocator::allocator is null.
 * - anything else (a CUDA kernel launch, a stream, the GPU JPEG decoder) raises c10::Error,
 *   which reaches Python as a RuntimeError naming the function (or, where the caller cannot
 *   throw, ends the process with that message).
 *
 * The list is torchvision 0.28.0's: a symbol missing here makes the import fail at image
 * build time (the build loads both modules with RTLD_NOW and stops). nocuda.map puts the
 * cudart and nvjpeg symbols under the version names the modules ask for.
 * Built on the host by agent/sandbox/_image.py with `cc` (the base image has no compiler);
 * it needs nothing but libc10's torchCheckFail, already loaded beside it.
 */

/* c10::detail::torchCheckFail(const char *func, const char *file, uint32_t line,
 * const char *msg): throws c10::Error (TORCH_CHECK's failure path, in libc10.so). */
__attribute__((noreturn)) void torch_check_fail(const char *func, const char *file,
                                                unsigned int line, const char *msg)
    __asm__("_ZN3c106detail14torchCheckFailEPKcS2_jS2_");

#define NO_CUDA_MSG "CUDA is not available in the CPU sandbox image (torchvision's CUDA " \
                    "entry points are stubbed: sandbox_image/nocuda)"

/* An entry point that must never run here: raise, naming it. */
#define UNAVAILABLE(cname, symbol, pretty)                                     \
    void cname(void) __asm__(symbol);                                          \
    void cname(void) {                                                         \
        torch_check_fail(pretty, "sandbox_image/nocuda/nocuda.c", __LINE__,   \
                         "torchvision called " pretty ": " NO_CUDA_MSG);       \
    }

/* ---- libc10_cuda.so / libtorch_cuda.so (unversioned) ---- */
signed char device_count(void) __asm__("_ZN3c104cuda12device_countEv");
signed char device_count(void) { return 0; } /* c10::cuda::device_count() */

/* c10::cuda::CUDACachingAllocator::allocator, a std::atomic<CUDAAllocator*>: none. */
void *cuda_caching_allocator __asm__("_ZN3c104cuda20CUDACachingAllocator9allocatorE") = 0;

UNAVAILABLE(get_current_device_properties, "_ZN2at4cuda26getCurrentDevicePropertiesEv",
            "at::cuda::getCurrentDeviceProperties()")
UNAVAILABLE(exchange_device, "_ZN3c104cuda14ExchangeDeviceEa", "c10::cuda::ExchangeDevice")
UNAVAILABLE(maybe_set_device, "_ZN3c104cuda14MaybeSetDeviceEa", "c10::cuda::MaybeSetDevice")
UNAVAILABLE(current_device, "_ZN3c104cuda14current_deviceEv", "c10::cuda::current_device")
UNAVAILABLE(get_device, "_ZN3c104cuda9GetDeviceEPa", "c10::cuda::GetDevice")
UNAVAILABLE(set_device, "_ZN3c104cuda9SetDeviceEab", "c10::cuda::SetDevice")
UNAVAILABLE(stream_from_pool_b, "_ZN3c104cuda17getStreamFromPoolEba",
            "c10::cuda::getStreamFromPool(bool, DeviceIndex)")
UNAVAILABLE(stream_from_pool_i, "_ZN3c104cuda17getStreamFromPoolEia",
            "c10::cuda::getStreamFromPool(int, DeviceIndex)")
UNAVAILABLE(current_stream, "_ZN3c104cuda20getCurrentCUDAStreamEa",
            "c10::cuda::getCurrentCUDAStream")
UNAVAILABLE(default_stream, "_ZN3c104cuda20getDefaultCUDAStreamEa",
            "c10::cuda::getDefaultCUDAStream")
UNAVAILABLE(set_current_stream, "_ZN3c104cuda20setCurrentCUDAStreamENS0_10CUDAStreamE",
            "c10::cuda::setCurrentCUDAStream")
UNAVAILABLE(cuda_check, "_ZN3c104cuda29c10_cuda_check_implementationEiPKcS2_jb",
            "c10::cuda::c10_cuda_check_implementation")
UNAVAILABLE(stream_synchronize, "_ZNK3c104cuda10CUDAStream11synchronizeEv",
            "c10::cuda::CUDAStream::synchronize")
UNAVAILABLE(stream_query, "_ZNK3c104cuda10CUDAStream5queryEv", "c10::cuda::CUDAStream::query")
UNAVAILABLE(stream_stream, "_ZNK3c104cuda10CUDAStream6streamEv",
            "c10::cuda::CUDAStream::stream")

/* ---- libcudart.so.13 (version libcudart.so.13) ---- */
/* Called by the modules' constructors and atexit handlers: harmless no-ops. */
static void *fat_binary_handle;
void **__cudaRegisterFatBinary(void *fat_cubin) { (void)fat_cubin; return &fat_binary_handle; }
void __cudaRegisterFatBinaryEnd(void **handle) { (void)handle; }
void __cudaUnregisterFatBinary(void **handle) { (void)handle; }
void __cudaRegisterFunction(void) {}
void __cudaRegisterVar(void) {}
const char *cudaGetErrorString(int error) { (void)error; return NO_CUDA_MSG; }

UNAVAILABLE(cuda_init_module, "__cudaInitModule", "__cudaInitModule")
UNAVAILABLE(cuda_get_kernel, "__cudaGetKernel", "__cudaGetKernel")
UNAVAILABLE(cuda_launch_kernel, "__cudaLaunchKernel", "__cudaLaunchKernel")
UNAVAILABLE(cuda_push_config, "__cudaPushCallConfiguration", "a CUDA kernel launch")
UNAVAILABLE(cuda_pop_config, "__cudaPopCallConfiguration", "a CUDA kernel launch")
UNAVAILABLE(cuda_device_synchronize, "cudaDeviceSynchronize", "cudaDeviceSynchronize")
UNAVAILABLE(cuda_event_create, "cudaEventCreateWithFlags", "cudaEventCreateWithFlags")
UNAVAILABLE(cuda_event_destroy, "cudaEventDestroy", "cudaEventDestroy")
UNAVAILABLE(cuda_event_elapsed, "cudaEventElapsedTime", "cudaEventElapsedTime")
UNAVAILABLE(cuda_event_query, "cudaEventQuery", "cudaEventQuery")
UNAVAILABLE(cuda_event_record, "cudaEventRecord", "cudaEventRecord")
UNAVAILABLE(cuda_event_record_flags, "cudaEventRecordWithFlags", "cudaEventRecordWithFlags")
UNAVAILABLE(cuda_event_synchronize, "cudaEventSynchronize", "cudaEventSynchronize")
UNAVAILABLE(cuda_get_last_error, "cudaGetLastError", "cudaGetLastError")
UNAVAILABLE(cuda_stream_is_capturing, "cudaStreamIsCapturing", "cudaStreamIsCapturing")
UNAVAILABLE(cuda_stream_synchronize, "cudaStreamSynchronize", "cudaStreamSynchronize")
UNAVAILABLE(cuda_stream_wait_event, "cudaStreamWaitEvent", "cudaStreamWaitEvent")

/* ---- libnvjpeg.so.13 (version libnvjpeg.so.13): the GPU JPEG codec ---- */
#define NVJPEG(name) UNAVAILABLE(stub_##name, #name, #name " (GPU JPEG codec)")
NVJPEG(nvjpegBufferDeviceCreate)
NVJPEG(nvjpegBufferPinnedCreate)
NVJPEG(nvjpegCreateEx)
NVJPEG(nvjpegCreateSimple)
NVJPEG(nvjpegDecodeBatched)
NVJPEG(nvjpegDecodeBatchedInitialize)
NVJPEG(nvjpegDecodeBatchedSupported)
NVJPEG(nvjpegDecodeJpegDevice)
NVJPEG(nvjpegDecodeJpegHost)
NVJPEG(nvjpegDecodeJpegTransferToDevice)
NVJPEG(nvjpegDecodeParamsCreate)
NVJPEG(nvjpegDecodeParamsSetOutputFormat)
NVJPEG(nvjpegDecoderCreate)
NVJPEG(nvjpegDecoderStateCreate)
NVJPEG(nvjpegEncodeImage)
NVJPEG(nvjpegEncodeRetrieveBitstreamDevice)
NVJPEG(nvjpegEncoderParamsCreate)
NVJPEG(nvjpegEncoderParamsSetQuality)
NVJPEG(nvjpegEncoderParamsSetSamplingFactors)
NVJPEG(nvjpegEncoderStateCreate)
NVJPEG(nvjpegGetImageInfo)
NVJPEG(nvjpegGetProperty)
NVJPEG(nvjpegJpegStateCreate)
NVJPEG(nvjpegJpegStreamCreate)
NVJPEG(nvjpegJpegStreamParse)
NVJPEG(nvjpegJpegStreamParseHeader)
NVJPEG(nvjpegStateAttachDeviceBuffer)
NVJPEG(nvjpegStateAttachPinnedBuffer)
